using System.Diagnostics;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Benchmarks;

/// <summary>Adapter cost on one SD1.5-sized layer, as ratios to the bare frozen layer measured in the same run.</summary>
public sealed record LayerCost(long Width, long Tokens, int Batch, TimeSpan Bare, TimeSpan Lora8, TimeSpan SeLora1, TimeSpan NormalStep, TimeSpan TestStep)
{
    public double LoraRatio => Lora8 / Bare;
    public double SeLoraRatio => SeLora1 / Bare;
    public double TestStepRatio => TestStep / NormalStep;
}

/// <summary>The measurements behind `selora bench adapters`.</summary>
public static class AdapterBenchmark
{
    /// <summary>
    /// Forward+backward of a frozen width x width Linear on [batch, tokens, width] (the input takes a gradient, as inside a
    /// network), bare and with LoRA rank 8 or SeLoRA rank 1; and a SeLoRA training step with and without the expansion test.
    /// Each figure is the median of <paramref name="repeats"/> runs after one warm-up.
    /// </summary>
    public static LayerCost Measure(long width, long tokens, int batch, int repeats = 5)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(0);
        using var scope = NewDisposeScope();
        var x = randn(batch, tokens, width).requires_grad_(true);
        using var bare = nn.Linear(width, width);
        foreach (var p in bare.parameters()) p.requires_grad = false;
        var bareTime = Median(repeats, () => ForwardBackward(bare, x));

        using var loraBase = nn.Linear(width, width);
        using var lora = new LoraLinear("lora", 0, loraBase, new LoraConfig { Rank = 8, Alpha = 8 });
        var loraTime = Median(repeats, () => ForwardBackward(lora, x));

        using var seloraBase = nn.Linear(width, width);
        var config = new SeLoraConfig { TestInterval = 1, Lambda = double.PositiveInfinity, Seed = 1 };
        using var selora = new SeLoraLinear("selora", 0, seloraBase, config);
        var seloraTime = Median(repeats, () => ForwardBackward(selora, x));

        // A training step: forward, backward, Adam; the test step adds the trial forward+backward and the scores
        // (lambda infinite, so the rank stays put and every repeat measures the same work).
        var adam = new AdamOptimizer(selora.TrainableParameters(), new AdamOptions { LearningRate = 1e-4 });
        var controller = new SeLoraController([selora], config, adam);
        var data = x.detach();
        long step = 0;
        void Step(bool test)
        {
            step++;
            using var s = NewDisposeScope();
            selora.forward(data).pow(2).mean().backward();
            if (test) controller.RecordOriginalScores(step);
            adam.Step();
            if (test) controller.RunTest(step, () => selora.forward(data).pow(2).mean().backward());
            adam.ZeroGrad();
        }
        var normal = Median(repeats, () => Step(test: false));
        var tested = Median(repeats, () => Step(test: true));
        return new LayerCost(width, tokens, batch, bareTime, loraTime, seloraTime, normal, tested);
    }

    static void ForwardBackward(nn.Module<Tensor, Tensor> layer, Tensor x)
    {
        using var scope = NewDisposeScope();
        x.grad?.zero_();
        layer.forward(x).pow(2).mean().backward();
    }

    static TimeSpan Median(int repeats, Action action)
    {
        action();
        var times = new List<TimeSpan>();
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times.Add(watch.Elapsed);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
