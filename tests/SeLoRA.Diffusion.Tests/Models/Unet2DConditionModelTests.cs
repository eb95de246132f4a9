using System.Diagnostics;
using SeLoRA.Diffusion.Models;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models;

public class Unet2DConditionModelTests
{
    const string TinyUnet = "fixtures/tiny-sd-models/tiny_unet";

    public Unet2DConditionModelTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Sd15_config_builds_the_exact_state_dict_names_shapes_and_parameter_count()
    {
        var config = Unet2DConditionConfig.FromJson(RepoPaths.RequireShared("sd15/unet.config.json"));
        var expected = File.ReadAllLines(RepoPaths.RequireShared("sd15/unet.keys.tsv"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split('\t'))
            .ToDictionary(p => p[0], p => p[1]);

        var clock = Stopwatch.StartNew();
        using var unet = new Unet2DConditionModel(config, torch.device("meta"));
        var built = clock.Elapsed;
        var actual = unet.state_dict().ToDictionary(kv => kv.Key, kv => string.Join(",", kv.Value.shape));

        var missing = expected.Keys.Except(actual.Keys).Order().ToList();
        var extra = actual.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"missing: [{string.Join(", ", missing.Take(20))}]; extra: [{string.Join(", ", extra.Take(20))}]");
        var wrongShapes = expected.Where(kv => actual[kv.Key] != kv.Value).Select(kv => $"{kv.Key} {actual[kv.Key]} != {kv.Value}").ToList();
        Assert.True(wrongShapes.Count == 0, string.Join("; ", wrongShapes.Take(20)));
        Assert.Equal(686, actual.Count);
        Assert.Equal(859_520_964L, unet.parameters().Sum(p => p.numel()));
        Assert.True(built < TimeSpan.FromSeconds(20), $"building took {built}");
        TestContext.Current.TestOutputHelper?.WriteLine($"SD1.5 UNet structure built on meta in {built.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void Sd15_config_json_reads_to_the_sd15_preset()
    {
        var config = Unet2DConditionConfig.FromJson(RepoPaths.RequireShared("sd15/unet.config.json"));
        var preset = Unet2DConditionConfig.StableDiffusion15;
        Assert.Equal(preset.BlockOutChannels, config.BlockOutChannels);
        Assert.Equal(preset.CrossAttentionDim, config.CrossAttentionDim);
        Assert.Equal(preset.HeadsPerBlock, config.HeadsPerBlock);
        Assert.Equal(preset.LayersPerBlock, config.LayersPerBlock);
        Assert.Equal(preset.TransformerLayersPerBlock, config.TransformerLayersPerBlock);
        Assert.Equal(preset.DownBlockTypes, config.DownBlockTypes);
        Assert.Equal(preset.UpBlockTypes, config.UpBlockTypes);
        Assert.Equal(preset.MidBlockType, config.MidBlockType);
        Assert.Equal(64L, config.SampleSize);
        Assert.Equal(1e-5, config.NormEps);
        Assert.True(config.FlipSinToCos);
        Assert.False(config.UseLinearProjection);
    }

    [Theory]
    [InlineData("""{"class_embed_type": "timestep"}""", "class_embed_type")]
    [InlineData("""{"down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"], "block_out_channels": [32]}""", "up_block_types")]
    [InlineData("""{"layers_per_block": [1, 2]}""", "layers_per_block")]
    [InlineData("""{"norm_eps": "small"}""", "norm_eps")]
    [InlineData("""{"down_block_types": ["AttnDownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D"]}""", "AttnDownBlock2D")]
    public void Unsupported_or_inconsistent_configs_are_rejected_by_field_name(string json, string field)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var error = Assert.Throws<FormatException>(() => Unet2DConditionConfig.FromJson(doc.RootElement, "test.json"));
        Assert.Contains(field, error.Message);
        Assert.Contains("test.json", error.Message);
    }

    static Unet2DConditionModel LoadTinyUnet()
    {
        var config = Unet2DConditionConfig.FromJson(RepoPaths.RequireShared($"{TinyUnet}/config.json"));
        var unet = new Unet2DConditionModel(config);
        var weights = TensorFixtures.Load($"{TinyUnet}/diffusion_pytorch_model.safetensors");
        try
        {
            Assert.Equal(208, weights.Count);
            TensorFixtures.LoadStrict(unet, weights);
        }
        finally
        {
            TensorFixtures.DisposeAll(weights);
        }
        unet.eval();
        return unet;
    }

    [Fact]
    public void Tiny_unet_loads_strictly_and_reproduces_diffusers_for_scalar_and_per_sample_timesteps()
    {
        using var unet = LoadTinyUnet();
        Assert.Equal(792_964L, unet.parameters().Sum(p => p.numel()));
        var io = TensorFixtures.Load($"{TinyUnet}/reference_io.safetensors");
        try
        {
            using var _ = no_grad();
            var sample = io["input.sample"];
            var context = io["input.encoder_hidden_states"];
            foreach (var (name, timestep) in new (string, Tensor)[]
                     {
                         ("output.t981", tensor(981L)), ("output.t1", tensor(1L)), ("output.t981_1", tensor(new long[] { 981, 1 })),
                     })
            {
                using var t = timestep;
                using var output = unet.forward(sample, t, context);
                var max = TensorFixtures.MaxAbsDiff(output, io[name]);
                TestContext.Current.TestOutputHelper?.WriteLine($"tiny UNet {name}: max |out - diffusers| = {max:E2}");
                Assert.True(max <= 1e-4, $"{name}: max |diff| {max:E3}");
            }
        }
        finally
        {
            TensorFixtures.DisposeAll(io);
        }
    }

    [Fact]
    public void Sizes_that_do_not_divide_by_the_upsampling_factor_keep_their_shape()
    {
        using var unet = LoadTinyUnet();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        manual_seed(3);
        var output = unet.forward(randn(1, 4, 15, 13), tensor(500.0f), randn(1, 5, 32));
        Assert.Equal([1L, 4L, 15L, 13L], output.shape);
        Assert.False(output.isnan().any().item<bool>());
    }

    [Fact]
    public void Gradients_reach_every_parameter()
    {
        using var unet = LoadTinyUnet();
        unet.train();
        using var scope = NewDisposeScope();
        manual_seed(4);
        var output = unet.forward(randn(2, 4, 8, 8), tensor(new long[] { 10, 900 }), randn(2, 3, 32));
        output.square().mean().backward();
        var without = unet.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToList();
        Assert.True(without.Count == 0, $"no gradient: {string.Join(", ", without)}");
    }
}
