using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models.Vae;
using SeLoRA.Diffusion.Presets;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models.Vae;

public class AutoencoderKlTests
{
    static AutoencoderKl TinyReference()
    {
        var folder = RepoPaths.RequireShared("fixtures/tiny-sd-models/tiny_vae");
        TorchRuntime.EnsureLoaded();
        var vae = new AutoencoderKl(AutoencoderKlConfig.FromJson(Path.Combine(folder, "config.json")));
        var report = ComponentWeights.LoadInto(folder, vae);
        Assert.True(report.IsExact);
        vae.eval();
        return vae;
    }

    static Dictionary<string, Tensor> ReferenceIo() => TorchSharp.PyBridge.Safetensors.LoadStateDict(
        RepoPaths.RequireShared("fixtures/tiny-sd-models/tiny_vae/reference_io.safetensors"));

    [Fact]
    public void Tiny_vae_encodes_like_diffusers()
    {
        using var vae = TinyReference();
        var io = ReferenceIo();
        using var _ = no_grad();
        using var posterior = vae.Encode(io["input.image"]);
        Assert.True((posterior.Mean - io["output.latent_mean"]).abs().max().item<float>() < 1e-4);
        Assert.True((posterior.LogVar - io["output.latent_logvar"]).abs().max().item<float>() < 1e-4);
        Assert.Equal(-139.842209, posterior.Mean.sum().item<float>(), 2);
    }

    [Fact]
    public void Tiny_vae_decodes_like_diffusers()
    {
        using var vae = TinyReference();
        var io = ReferenceIo();
        using var _ = no_grad();
        using var decoded = vae.Decode(io["input.latent"]);
        Assert.Equal(io["output.decoded"].shape, decoded.shape);
        Assert.True((decoded - io["output.decoded"]).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Sd15_vae_has_the_reference_keys_shapes_and_parameter_count()
    {
        var list = RepoPaths.RequireShared("sd15/vae.keys.tsv");
        TorchRuntime.EnsureLoaded();
        var config = AutoencoderKlConfig.FromJson(ModelPresets.ConfigElement(ModelPresets.Sd15, "vae"));
        using var vae = new AutoencoderKl(config, device: new Device(DeviceType.META));
        var ours = vae.state_dict().Select(kv => $"{kv.Key}\t{string.Join(",", kv.Value.shape)}").Order(StringComparer.Ordinal);
        var expected = File.ReadAllLines(list).Where(l => l.Length > 0 && !l.StartsWith('#')).Order(StringComparer.Ordinal);
        Assert.Equal(expected, ours);
        Assert.Equal(83_653_863L, vae.parameters().Sum(p => p.numel()));
        Assert.Equal(8, config.DownsampleFactor);
    }

    [Fact]
    public void Posterior_sampling_uses_the_given_noise_and_clamps_the_log_variance()
    {
        TorchRuntime.EnsureLoaded();
        using var moments = cat([ones(1, 2, 2, 2), full(new long[] { 1, 2, 2, 2 }, 50f)], 1);
        using var posterior = new DiagonalGaussianDistribution(moments);
        Assert.Equal(20f, posterior.LogVar.max().item<float>());
        using var noise = full(new long[] { 1, 2, 2, 2 }, 0.5f);
        using var sample = posterior.Sample(noise);
        Assert.Equal(1f + MathF.Exp(10f) * 0.5f, sample[0, 0, 0, 0].item<float>(), 1f);
    }

    [Fact]
    public void A_file_with_the_old_attention_names_loads_into_the_current_layout()
    {
        TorchRuntime.EnsureLoaded();
        var config = AutoencoderKlConfig.FromJson(ModelPresets.ConfigElement(ModelPresets.Tiny, "vae"));
        manual_seed(9);
        using var original = new AutoencoderKl(config);
        var folder = Directory.CreateTempSubdirectory("selora-vae-legacy-").FullName;
        try
        {
            // The SD1.5 fp32 file on disk uses query/key/value/proj_attn (sd15/vae.keys.ondisk-fp32.tsv).
            var legacy = original.state_dict().ToDictionary(
                kv => kv.Key.Replace(".to_q.", ".query.").Replace(".to_k.", ".key.").Replace(".to_v.", ".value.").Replace(".to_out.0.", ".proj_attn."),
                kv => kv.Value);
            Assert.Contains("encoder.mid_block.attentions.0.proj_attn.weight", legacy.Keys);
            SeLoRA.Torch.Safetensors.SafetensorsFile.Save(Path.Combine(folder, "diffusion_pytorch_model.safetensors"), legacy);
            File.WriteAllText(Path.Combine(folder, "config.json"), ModelPresets.Config(ModelPresets.Tiny, "vae").ToJsonString());
            using var loaded = new AutoencoderKl(config);
            Assert.True(ComponentWeights.LoadInto(folder, loaded).IsExact);
            foreach (var (key, value) in original.state_dict())
                Assert.True(value.equal(loaded.state_dict()[key]).all().item<bool>(), key);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
