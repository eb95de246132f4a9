using SeLoRA.Adapters.Reporting;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Reporting;

public sealed class AdapterFileLayersTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-adapter-layers-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Ranks_and_shapes_come_from_the_lora_tensors_of_a_peft_file()
    {
        TorchRuntime.EnsureLoaded();
        var path = Path.Combine(_dir, "adapter_model.safetensors");
        SafetensorsFile.Save(path, new Dictionary<string, Tensor>
        {
            ["base_model.model.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.lora_A.weight"] = zeros(3, 320),
            ["base_model.model.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.lora_B.weight"] = zeros(320, 3),
            ["base_model.model.down_blocks.0.resnets.0.time_emb_proj.lora_A.weight"] = zeros(1, 1280),
            ["base_model.model.down_blocks.0.resnets.0.time_emb_proj.lora_B.weight"] = zeros(320, 1),
        });
        var report = RankReport.Create(AdapterFileLayers.Read(_dir));
        Assert.Equal(2, report.Rows.Count);
        Assert.Equal(3 * (320 + 320) + 1 * (1280 + 320), report.Totals.TrainableParameters);
        Assert.Contains(report.Rows, r => r.Classification.Kind == LayerKind.Q && r.Classification.Attention == AttentionRole.Cross && r.Layer.Rank == 3);
    }

    [Fact]
    public void AdaLora_files_with_bare_parameter_keys_are_read_too()
    {
        TorchRuntime.EnsureLoaded();
        var path = Path.Combine(_dir, "adalora.safetensors");
        SafetensorsFile.Save(path, new Dictionary<string, Tensor>
        {
            ["base_model.model.text_model.encoder.layers.0.self_attn.q_proj.lora_A"] = zeros(2, 32),
            ["base_model.model.text_model.encoder.layers.0.self_attn.q_proj.lora_B"] = zeros(32, 2),
            ["base_model.model.text_model.encoder.layers.0.self_attn.q_proj.lora_E"] = zeros(2, 1),
        });
        var layer = Assert.Single(AdapterFileLayers.Read(path));
        Assert.Equal(2, layer.Rank);
    }

    [Fact]
    public void A_lone_or_misshapen_matrix_is_named()
    {
        TorchRuntime.EnsureLoaded();
        var path = Path.Combine(_dir, "bad.safetensors");
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["x.to_k.lora_A.weight"] = zeros(2, 8) });
        Assert.Contains("x.to_k.lora_B.weight", Assert.Throws<InvalidDataException>(() => AdapterFileLayers.Read(path)).Message);
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["x.to_k.lora_A.weight"] = zeros(2, 8), ["x.to_k.lora_B.weight"] = zeros(8, 3) });
        Assert.Contains("x.to_k", Assert.Throws<InvalidDataException>(() => AdapterFileLayers.Read(path)).Message);
    }
}
