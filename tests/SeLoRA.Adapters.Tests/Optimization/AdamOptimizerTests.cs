using SeLoRA.Adapters.Optimization;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Optimization;

public sealed class AdamOptimizerTests
{
    readonly ITestOutputHelper output;

    public AdamOptimizerTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    static Parameter NewParameter(Tensor t) => new(t, requires_grad: true);

    static void Backward(IReadOnlyList<Parameter> ps, int step)
    {
        using var scope = NewDisposeScope();
        var loss = ps.Select((p, i) => (p * p * (i + 1)).sum() + (p * (step + 1)).sin().sum()).Aggregate((a, b) => a + b);
        loss.backward();
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void Matches_torch_optim_Adam(double weightDecay)
    {
        manual_seed(4);
        // Magnitudes below 1, so one float32 ulp is below 1e-7: TorchSharp's Adam updates the first moment as
        // m * b1 + (1 - b1) g, PyTorch's (and ours) as m.lerp_(g, 1 - b1), which may differ in the last bit.
        using var init1 = randn(3, 4) * 0.2;
        using var init2 = randn(5) * 0.2;
        var mine = new[] { NewParameter(init1.clone()), NewParameter(init2.clone()) };
        var theirs = new[] { NewParameter(init1.clone()), NewParameter(init2.clone()) };
        using var adam = new AdamOptimizer(mine, new AdamOptions { LearningRate = 0.05, WeightDecay = weightDecay });
        // The class constructor, not the torch.optim.Adam factory, whose beta2 default is 0.99 in TorchSharp 0.107.
        using var reference = new TorchSharp.Modules.Adam(theirs, lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: weightDecay);
        var worst = 0.0;
        for (var step = 0; step < 6; step++)
        {
            Backward(mine, step);
            Backward(theirs, step);
            adam.Step();
            reference.step();
            adam.ZeroGrad();
            reference.zero_grad();
            for (var i = 0; i < mine.Length; i++)
            {
                var diff = TestTensors.MaxAbsDiff(mine[i], theirs[i]);
                if (step == 0) Assert.True(TestTensors.Same(mine[i], theirs[i]), "first step must be bit-equal (zero moments)");
                worst = Math.Max(worst, diff);
            }
        }
        output.WriteLine($"max |ours - TorchSharp Adam| over 6 steps: {worst:G3}");
        Assert.True(worst <= 1e-7, $"max |difference| {worst}");
    }

    [Fact]
    public void Exports_and_imports_state_and_continues_identically()
    {
        manual_seed(5);
        using var init = randn(4, 3);
        var a = new[] { NewParameter(init.clone()) };
        var b = new[] { NewParameter(init.clone()) };
        using var adamA = new AdamOptimizer(a, new AdamOptions { LearningRate = 0.1 });
        using var adamB = new AdamOptimizer(b, new AdamOptions { LearningRate = 0.1 });
        for (var s = 0; s < 3; s++) { Backward(a, s); adamA.Step(); adamA.ZeroGrad(); }
        using (no_grad()) b[0].copy_(a[0]);
        var exported = adamA.ExportState();
        Assert.Equal(3, exported[0].Step);
        adamB.ImportState(exported);
        foreach (var s in exported) s.Dispose();
        for (var s = 3; s < 6; s++)
        {
            Backward(a, s); adamA.Step(); adamA.ZeroGrad();
            Backward(b, s); adamB.Step(); adamB.ZeroGrad();
        }
        Assert.True(TestTensors.Same(a[0], b[0]));
        using var wrong = new AdamParameterState(1, zeros(2), zeros(2));
        Assert.Throws<ArgumentException>(() => adamB.ImportState([wrong]));
    }

    [Fact]
    public void Replace_resets_or_keeps_old_rows()
    {
        manual_seed(6);
        var old = NewParameter(randn(2, 3));
        using var adam = new AdamOptimizer([old], new AdamOptions { LearningRate = 0.1 });
        Backward([old], 0); adam.Step(); adam.ZeroGrad();
        Backward([old], 1); adam.Step(); adam.ZeroGrad();
        using var before = adam.StateOf(old)!;

        var grown = NewParameter(zeros(3, 3));
        adam.Replace(old, grown, RankGrowthPolicy.KeepOldRows);
        Assert.False(adam.Contains(old));
        Assert.Same(grown, Assert.Single(adam.Parameters));
        using (var kept = adam.StateOf(grown)!)
        {
            Assert.Equal(2, kept.Step);
            Assert.True(TestTensors.Same(kept.ExpAvg!.narrow(0, 0, 2), before.ExpAvg!));
            Assert.True(TestTensors.Same(kept.ExpAvgSq!.narrow(0, 0, 2), before.ExpAvgSq!));
            Assert.Equal(0f, kept.ExpAvg.narrow(0, 2, 1).abs().max().item<float>());
        }

        var reset = NewParameter(zeros(4, 3));
        adam.Replace(grown, reset, RankGrowthPolicy.ResetLayerState);
        using (var fresh = adam.StateOf(reset)!)
        {
            Assert.Equal(0, fresh.Step);
            Assert.Null(fresh.ExpAvg);
        }
        Assert.False(adam.Contains(grown));
    }
}
