using System.Diagnostics;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.SeLora;

/// <summary>
/// Frozen random layers W0_i, a teacher W0_i + dW_i with dW_i of known rank (0, 1, 3, 8), noiseless targets, SeLoRA
/// with the official defaults (lambda 1.3, T 40, r0 1, alpha 8, reset Adam state), a short run.
/// </summary>
public sealed class TeacherStudentTests(ITestOutputHelper output)
{
    static readonly int[] TrueRanks = [0, 1, 3, 8];
    const int Dim = 24, BatchSize = 32, Steps = 800;
    const double LearningRate = 3e-3;

    sealed class Problem : IDisposable
    {
        public required ParallelLinears Model;
        public required Tensor TeacherWeight; // [layers, out, in]
        public required Tensor TeacherBias;   // [layers, out]

        public Tensor Targets(Tensor x)
        {
            using var scope = NewDisposeScope();
            return stack(Enumerable.Range(0, TrueRanks.Length)
                .Select(i => nn.functional.linear(x, TeacherWeight[i], TeacherBias[i])).ToArray(), 0).MoveToOuterDisposeScope();
        }

        public (Tensor, Tensor) Batch(long step)
        {
            using var gen = new Generator((ulong)(50_000 + step), CPU);
            var x = randn(new long[] { BatchSize, Dim }, generator: gen);
            return (x, Targets(x));
        }

        public double[] EvalLoss()
        {
            using var scope = NewDisposeScope();
            using var gen = new Generator(999, CPU);
            var x = randn(new long[] { 1024, Dim }, generator: gen);
            using var _ = no_grad();
            var loss = ParallelLinears.LossPerLayer(Model.call(x), Targets(x));
            return loss.data<float>().Select(v => (double)v).ToArray();
        }

        public void Dispose()
        {
            Model.Dispose();
            TeacherWeight.Dispose();
            TeacherBias.Dispose();
        }
    }

    static Problem Build()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(2024);
        var model = new ParallelLinears(TrueRanks.Length, Dim, Dim);
        var weights = new List<Tensor>();
        for (var i = 0; i < TrueRanks.Length; i++)
        {
            var w0 = model.BaseLinear(i).weight!.detach();
            var r = TrueRanks[i];
            if (r == 0)
            {
                weights.Add(w0.clone()); // exactly W0: this layer's loss and gradients are exactly zero
                continue;
            }
            // dW = U diag(sigma) V^T with orthonormal U, V and singular values from 1.0 down to 0.5.
            var u = linalg.qr(randn(Dim, r)).Q;
            var v = linalg.qr(randn(Dim, r)).Q;
            var sigma = linspace(1.0, 0.5, r);
            weights.Add(w0 + (u * sigma).matmul(v.t()));
        }
        var bias = stack(Enumerable.Range(0, TrueRanks.Length).Select(i => model.BaseLinear(i).bias!.detach()).ToArray(), 0);
        return new Problem { Model = model, TeacherWeight = stack(weights.ToArray(), 0), TeacherBias = bias };
    }

    [Fact]
    public void SeLoRA_grows_where_the_update_needs_rank_and_beats_rank_one_LoRA()
    {
        var clock = Stopwatch.StartNew();
        var config = new SeLoraConfig { Seed = 3 }; // official defaults otherwise
        Assert.Equal((1, 8.0, 1.3, 40, false), (config.InitialRank, config.Alpha, config.Lambda, config.TestInterval, config.FastTest));

        using var selora = Build();
        var layers = AdapterInjector.Inject(selora.Model, _ => true, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config));
        using var adam = new AdamOptimizer(AdapterInjector.MarkOnlyAdaptersTrainable(selora.Model), new AdamOptions { LearningRate = LearningRate });
        var controller = new SeLoraController(layers, config, adam);
        var results = TrainingLoop.Run(selora.Model, controller, adam, selora.Batch, 1, Steps);
        var seloraLoss = selora.EvalLoss();

        using var lora = Build();
        AdapterInjector.Inject(lora.Model, _ => true, s => new LoraLinear(s.Name, s.Index, s.Layer, new LoraConfig { Rank = 1, Alpha = 8 }));
        using var loraAdam = new AdamOptimizer(AdapterInjector.MarkOnlyAdaptersTrainable(lora.Model), new AdamOptions { LearningRate = LearningRate });
        TrainingLoop.Run(lora.Model, null, loraAdam, lora.Batch, 1, Steps);
        var loraLoss = lora.EvalLoss();

        output.WriteLine($"true ranks:  {string.Join(", ", TrueRanks)}");
        foreach (var r in results.Where(r => r.Step % 200 == 0 || r.ExpandedCount > 0))
            output.WriteLine($"step {r.Step,5}: ranks {string.Join(", ", r.Decisions.Select(d => d.RankAfter))}  ratios {string.Join(", ", r.Decisions.Select(d => d.Ratio.ToString("G3")))}");
        output.WriteLine($"final ranks: {string.Join(", ", layers.Select(l => l.Rank))}");
        output.WriteLine($"eval MSE SeLoRA:      {string.Join(", ", seloraLoss.Select(v => v.ToString("G3")))}");
        output.WriteLine($"eval MSE LoRA rank 1: {string.Join(", ", loraLoss.Select(v => v.ToString("G3")))}");
        output.WriteLine($"elapsed {clock.Elapsed.TotalSeconds:F1} s");

        Assert.Equal(Steps / config.TestInterval, results.Count);
        // The zero-update layer has no gradient at all: 0/0 at every test, never expands, never moves.
        Assert.All(results, r => Assert.False(r.Decisions[0].Expand));
        Assert.All(results, r => Assert.Equal("no gradient (0/0)", r.Decisions[0].Reason));
        Assert.Equal(1, layers[0].Rank);
        Assert.Equal(0.0, seloraLoss[0]);
        // Every layer with a non-zero update grows.
        for (var i = 1; i < TrueRanks.Length; i++) Assert.True(layers[i].Rank > 1, $"layer {i} (true rank {TrueRanks[i]}) did not grow");
        // At the same step budget, SeLoRA fits the rank-8 update clearly better than rank-1 LoRA.
        Assert.True(seloraLoss[3] < 0.5 * loraLoss[3], $"rank-8 layer: SeLoRA {seloraLoss[3]} vs LoRA-1 {loraLoss[3]}");
    }
}
