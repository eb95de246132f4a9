using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Lora;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Lora;

public sealed class LoraLinearTests
{
    public LoraLinearTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Forward_is_base_plus_scaled_BA()
    {
        manual_seed(2);
        var linear = nn.Linear(5, 4);
        using var lora = new LoraLinear("fc", 0, linear, new LoraConfig { Rank = 3, Alpha = 6 });
        TestTensors.NonZero(lora.B);
        using var x = randn(7, 5);
        using var y = lora.call(x);
        using var expected = x.matmul(lora.BaseWeight.t()) + lora.BaseBias! + x.matmul(lora.A.t()).matmul(lora.B.t()) * 2.0;
        Assert.True(TestTensors.MaxAbsDiff(y, expected) < 1e-6);
        Assert.Equal(2.0, lora.Scaling);
        Assert.False(lora.BaseWeight.requires_grad);
        Assert.False(lora.BaseBias!.requires_grad);
        Assert.True(lora.A.requires_grad && lora.B.requires_grad);
        Assert.Equal([3L, 5L], lora.A.shape);
        Assert.Equal([4L, 3L], lora.B.shape);
        Assert.Equal(["weight", "bias", "lora_A.weight", "lora_B.weight"], lora.state_dict().Keys);
    }

    [Fact]
    public void Init_bounds_and_scalings()
    {
        var linear = nn.Linear(64, 8);
        using var kaiming = new LoraLinear("k", 0, linear, new LoraConfig { Rank = 16 });
        var bound = 1 / Math.Sqrt(64);
        Assert.True(kaiming.A.abs().max().item<float>() <= bound);
        Assert.True(kaiming.A.abs().max().item<float>() > 0.8 * bound);
        Assert.Equal(0f, kaiming.B.abs().max().item<float>());
        Assert.Equal(bound, Initializers.KaimingUniformBound(64, Math.Sqrt(5)), 12);
        Assert.Equal(Math.Sqrt(6.0 / 64), Initializers.KaimingUniformBound(64, 0), 12);

        using var gaussian = new LoraLinear("g", 0, nn.Linear(200, 8), new LoraConfig { Rank = 4, Init = LoraInit.Gaussian });
        Assert.InRange(gaussian.A.std().item<float>(), 0.2, 0.3);

        Assert.Equal(8.0 / 4, new LoraConfig { Rank = 4, Alpha = 8 }.Scaling);
        Assert.Equal(8.0 / 2, new LoraConfig { Rank = 4, Alpha = 8, UseRsLora = true }.Scaling);
    }

    [Fact]
    public void Merge_gives_the_same_output_and_unmerge_restores_the_base_weight()
    {
        manual_seed(3);
        var linear = nn.Linear(6, 5);
        using var lora = new LoraLinear("fc", 0, linear, new LoraConfig { Rank = 2, Alpha = 16 });
        TestTensors.NonZero(lora.B);
        using var w0 = lora.BaseWeight.clone();
        using var x = randn(9, 6);
        using var unmerged = lora.call(x);
        lora.Merge();
        Assert.True(lora.Merged);
        using var merged = lora.call(x);
        Assert.True(TestTensors.MaxAbsDiff(unmerged, merged) <= 1e-6, $"merged output differs by {TestTensors.MaxAbsDiff(unmerged, merged)}");
        Assert.True(TestTensors.MaxAbsDiff(lora.BaseWeight, w0) > 1e-3);
        Assert.Throws<InvalidOperationException>(lora.Merge);
        lora.Unmerge();
        Assert.True(TestTensors.MaxAbsDiff(lora.BaseWeight, w0) <= 1e-6);
        using var again = lora.call(x);
        Assert.True(TestTensors.MaxAbsDiff(unmerged, again) <= 1e-6);
    }

    [Fact]
    public void Reads_peft_adapter_config()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"r": 4, "lora_alpha": 32, "lora_dropout": 0.1, "use_rslora": true, "init_lora_weights": "gaussian"}""");
        var c = LoraConfig.FromJson(doc.RootElement);
        Assert.Equal(new LoraConfig { Rank = 4, Alpha = 32, Dropout = 0.1, UseRsLora = true, Init = LoraInit.Gaussian }, c);
        using var bad = System.Text.Json.JsonDocument.Parse("""{"init_lora_weights": "pissa"}""");
        Assert.Throws<FormatException>(() => LoraConfig.FromJson(bad.RootElement));
    }
}
