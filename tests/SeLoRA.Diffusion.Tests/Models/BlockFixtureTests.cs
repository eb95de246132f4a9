using SeLoRA.Diffusion.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models;

/// <summary>
/// Each diffusers v0.24 unit-test block (fixtures/diffusers-unit-blocks), loaded with the captured weights and run on the
/// captured inputs: the full output within 1e-4 of diffusers' output, and the published slice within the upstream atol.
/// </summary>
public class BlockFixtureTests
{
    public static TheoryData<string> Cases =>
    [
        "resnet_default", "resnet_use_in_shortcut", "resnet_down", "upsample_with_conv", "downsample_with_conv",
        "transformer2d_cross_attention", "block_DownBlock2D", "block_CrossAttnDownBlock2D",
        "block_UNetMidBlock2DCrossAttn", "block_UpBlock2D", "block_CrossAttnUpBlock2D", "block_DownEncoderBlock2D",
        "block_UNetMidBlock2D", "block_UpDecoderBlock2D",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Block_reproduces_diffusers_output_and_published_slice(string caseName)
    {
        var data = TensorFixtures.Load($"{TensorFixtures.UnitBlocks}/{caseName}.safetensors");
        try
        {
            using var scope = NewDisposeScope();
            var (module, run) = Build(caseName, data);
            using var _ = module;
            // Standalone Downsample2D also saves its conv as Conv2d_0 (same tensor); we register it once, as conv.
            TensorFixtures.LoadStrict(module, data, "param.", "Conv2d_0.weight", "Conv2d_0.bias");
            module.eval();
            Tensor output;
            using (no_grad()) output = run();

            var maxDiff = TensorFixtures.MaxAbsDiff(output, data["output"]);
            TestContext.Current.TestOutputHelper?.WriteLine($"{caseName}: max |out - diffusers| = {maxDiff:E2}");
            Assert.True(maxDiff <= 1e-4, $"{caseName} full output: max |diff| {maxDiff:E3} > 1e-4");

            var manifest = TensorFixtures.Manifest(caseName);
            var published = manifest.GetProperty("expected_slice_published").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var atol = manifest.GetProperty("upstream_atol").GetDouble();
            var slice = TensorFixtures.PublishedSlice(output);
            for (var i = 0; i < published.Length; i++)
                Assert.True(Math.Abs(slice[i] - published[i]) <= atol,
                    $"{caseName} slice[{i}] = {slice[i]}, published {published[i]} (atol {atol})");
        }
        finally
        {
            TensorFixtures.DisposeAll(data);
        }
    }

    /// <summary>The module with the constructor arguments from manifest.json, and its call on the stored inputs.</summary>
    static (nn.Module Module, Func<Tensor> Run) Build(string caseName, Dictionary<string, Tensor> d)
    {
        Tensor In(string name) => d["input." + name];
        Tensor[] Skips() => [In("res_hidden_states_tuple.0")];
        switch (caseName)
        {
            case "resnet_default":
            {
                var m = new ResnetBlock2D(32, tembChannels: 128);
                return (m, () => m.forward(In("sample"), In("temb")));
            }
            case "resnet_use_in_shortcut":
            {
                var m = new ResnetBlock2D(32, tembChannels: 128, useInShortcut: true);
                return (m, () => m.forward(In("sample"), In("temb")));
            }
            case "resnet_down":
            {
                var m = new ResnetBlock2D(32, tembChannels: 128, down: true);
                return (m, () => m.forward(In("sample"), In("temb")));
            }
            case "upsample_with_conv":
            {
                var m = new Upsample2D(32, useConv: true);
                return (m, () => m.forward(In("sample")));
            }
            case "downsample_with_conv":
            {
                var m = new Downsample2D(32, useConv: true);
                return (m, () => m.forward(In("sample")));
            }
            case "transformer2d_cross_attention":
            {
                var m = new Transformer2DModel(numAttentionHeads: 2, attentionHeadDim: 32, inChannels: 64, crossAttentionDim: 64);
                return (m, () => m.forward(In("sample"), In("context")));
            }
            case "block_DownBlock2D":
            {
                var m = new DownBlock2D(32, 32, 128);
                return (m, () => m.forward(In("hidden_states"), In("temb"), null).Hidden);
            }
            case "block_CrossAttnDownBlock2D":
            {
                var m = new CrossAttnDownBlock2D(32, 32, 128, crossAttentionDim: 32);
                return (m, () => m.forward(In("hidden_states"), In("temb"), null).Hidden);
            }
            case "block_UNetMidBlock2DCrossAttn":
            {
                var m = new UNetMidBlock2DCrossAttn(32, 128, crossAttentionDim: 32);
                return (m, () => m.forward(In("hidden_states"), In("temb"), null));
            }
            case "block_UpBlock2D":
            {
                var m = new UpBlock2D(inChannels: 32, prevOutputChannel: 32, outChannels: 32, tembChannels: 128);
                return (m, () => m.forward(In("hidden_states"), Skips(), In("temb"), null, null));
            }
            case "block_CrossAttnUpBlock2D":
            {
                var m = new CrossAttnUpBlock2D(inChannels: 32, outChannels: 32, prevOutputChannel: 32, tembChannels: 128,
                    crossAttentionDim: 32);
                return (m, () => m.forward(In("hidden_states"), Skips(), In("temb"), null, null));
            }
            case "block_DownEncoderBlock2D":
            {
                var m = new DownEncoderBlock2D(32, 32);
                return (m, () => m.forward(In("hidden_states")));
            }
            case "block_UNetMidBlock2D":
            {
                var m = new UNetMidBlock2D(32, 128);
                return (m, () => m.forward(In("hidden_states"), In("temb")));
            }
            case "block_UpDecoderBlock2D":
            {
                var m = new UpDecoderBlock2D(32, 32);
                return (m, () => m.forward(In("hidden_states"), null));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(caseName), caseName, "no such fixture case");
        }
    }
}
