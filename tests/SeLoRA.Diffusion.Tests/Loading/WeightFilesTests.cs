using SeLoRA.Torch.Safetensors;
using SeLoRA.Diffusion.Loading;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Loading;

public sealed class WeightFilesTests
{
    static void Write(string path)
    {
        TorchRuntime.EnsureLoaded();
        using var t = torch.ones(2);
        SafetensorsFile.Save(path, [new("w", t)]);
    }

    [Fact]
    public void Finds_main_transformers_sharded_and_variant_files()
    {
        using var folder = new TempFolder();
        Write(folder.File("model.safetensors"));
        Assert.Equal(folder.File("model.safetensors"), WeightFiles.Find(folder.Path).Path);

        Write(folder.File("diffusion_pytorch_model.safetensors"));
        Assert.Equal(folder.File("diffusion_pytorch_model.safetensors"), WeightFiles.Find(folder.Path).Path);

        Write(folder.File("diffusion_pytorch_model.fp16.safetensors"));
        var fp16 = WeightFiles.Find(folder.Path, "fp16");
        Assert.Equal(folder.File("diffusion_pytorch_model.fp16.safetensors"), fp16.Path);
        Assert.False(fp16.IsShardIndex);

        using var sharded = new TempFolder();
        using (var t = torch.ones(4))
        {
            ShardedSafetensors.Save(sharded.Path, "diffusion_pytorch_model", [new("a", t), new("b", t)], 8, variant: "fp16");
            ShardedSafetensors.Save(sharded.Path, "diffusion_pytorch_model", [new("a", t), new("b", t)], 8);
        }
        var index = WeightFiles.Find(sharded.Path, "fp16");
        Assert.True(index.IsShardIndex);
        Assert.EndsWith("diffusion_pytorch_model.safetensors.index.fp16.json", index.Path);
        Assert.EndsWith("diffusion_pytorch_model.safetensors.index.json", WeightFiles.Find(sharded.Path).Path);
        var loaded = index.Load();
        Assert.Equal(new[] { "a", "b" }, loaded.Keys.Order());
        TensorAssert.Dispose(loaded.Values);
    }

    [Fact]
    public void No_match_lists_the_names_tried_and_the_files_present()
    {
        using var folder = new TempFolder();
        Write(folder.File("diffusion_pytorch_model.safetensors"));
        File.WriteAllText(folder.File("config.json"), "{}");
        File.WriteAllText(folder.File("diffusion_pytorch_model.bin"), "");

        var e = Assert.Throws<WeightFileException>(() => WeightFiles.Find(folder.Path, "fp16"));
        Assert.Contains("variant 'fp16'", e.Message);
        Assert.Contains("diffusion_pytorch_model.fp16.safetensors", e.Message);
        Assert.Contains("Files present: config.json, diffusion_pytorch_model.bin, diffusion_pytorch_model.safetensors", e.Message);
        Assert.Contains(".bin", e.Message);

        File.Delete(folder.File("diffusion_pytorch_model.safetensors"));
        e = Assert.Throws<WeightFileException>(() => WeightFiles.Find(folder.Path));
        Assert.Contains(folder.Path, e.Message);
        Assert.Contains("diffusion_pytorch_model.bin", e.Message);
    }

    [Theory]
    [InlineData("tiny_unet", "diffusion_pytorch_model.safetensors", 208)]
    [InlineData("tiny_vae", "diffusion_pytorch_model.safetensors", 124)]
    [InlineData("tiny_clip_text", "model.safetensors", 53)]
    public void Tiny_reference_models_are_discovered_and_load(string component, string file, int count)
    {
        var root = RepoPaths.RequireShared("fixtures/tiny-sd-models");
        var source = WeightFiles.Find(Path.Combine(root, component));
        Assert.Equal(file, Path.GetFileName(source.Path));

        var tensors = DiffusersFolder.LoadComponentStateDict(root, component);
        // The counts are the ones tiny-sd-models/README.md states.
        Assert.Equal(count, tensors.Count);
        var header = SafetensorsFile.ReadHeader(source.Path);
        Assert.Equal(header.Entries.Select(e => e.Name).Order(), tensors.Keys.Order());
        Assert.Equal("pt", header.Metadata["format"]);
        foreach (var e in header.Entries) Assert.Equal(e.Shape, tensors[e.Name].shape);
        Assert.All(tensors.Values.Where(t => t.is_floating_point()), t => Assert.Equal(ScalarType.Float32, t.dtype));
        TensorAssert.Dispose(tensors.Values);
    }

    [Fact]
    public void Tiny_unet_has_the_stated_parameter_count_and_tiny_vae_uses_current_attention_names()
    {
        var root = RepoPaths.RequireShared("fixtures/tiny-sd-models");
        var unet = SafetensorsFile.ReadHeader(Path.Combine(root, "tiny_unet", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(792_964, unet.Entries.Sum(e => e.ElementCount));

        var vae = SafetensorsFile.ReadHeader(Path.Combine(root, "tiny_vae", "diffusion_pytorch_model.safetensors"));
        Assert.All(vae.Entries, e => Assert.Equal(e.Name, LegacyVaeAttentionKeys.MapKey(e.Name)));
        Assert.Contains(vae.Entries, e => e.Name == "encoder.mid_block.attentions.0.to_out.0.weight");
    }

    [Fact]
    public void Tiny_clip_keys_are_the_sd15_text_encoder_keys_of_its_three_layers()
    {
        var root = RepoPaths.RequireShared("fixtures/tiny-sd-models");
        var sd15 = ReferenceKeys.Read(RepoPaths.RequireShared("sd15/text_encoder.keys.tsv"));
        var expected = sd15.Keys.Where(k => !k.StartsWith("text_model.encoder.layers.", StringComparison.Ordinal) ||
                                            int.Parse(k.Split('.')[3]) < 3).Order(StringComparer.Ordinal);
        var tensors = DiffusersFolder.LoadComponentStateDict(root, "tiny_clip_text");
        Assert.Equal(expected, tensors.Keys.Order(StringComparer.Ordinal));
        var ids = tensors["text_model.embeddings.position_ids"];
        Assert.Equal(ScalarType.Int64, ids.dtype);
        Assert.Equal(Enumerable.Range(0, 77).Select(i => (long)i), ids.data<long>().ToArray());
        TensorAssert.Dispose(tensors.Values);
    }
}
