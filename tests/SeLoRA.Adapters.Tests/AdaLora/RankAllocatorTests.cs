using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.AdaLora;

public sealed class RankAllocatorTests
{
    readonly ITestOutputHelper output;

    public RankAllocatorTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    static List<AdaLoraLinear> Layers(AdaLoraConfig config, params (int In, int Out)[] shapes)
        => shapes.Select((s, i) => new AdaLoraLinear($"layer{i}", i, nn.Linear(s.In, s.Out), config)).ToList();

    [Fact]
    public void Budget_follows_peft_cubic_schedule()
    {
        var config = new AdaLoraConfig { InitR = 6, TargetR = 2, TInit = 10, TFinal = 20, TotalStep = 110, DeltaT = 5 };
        var layers = Layers(config, (4, 3), (5, 2), (3, 3));
        using var allocator = new RankAllocator(layers, config);
        Assert.Equal(18, allocator.InitialBudget);
        Assert.Equal(6, allocator.TargetBudget);
        for (long step = 0; step <= 115; step++)
        {
            (int, bool) expected;
            if (step <= 10) expected = (18, false);
            else if (step > 90) expected = (6, true);
            else
            {
                var c = 1.0 - (step - 10) / 80.0;
                expected = ((int)Math.Floor((18 - 6) * c * c * c + 6), step % 5 == 0);
            }
            Assert.Equal(expected, allocator.BudgetSchedule(step));
        }
        // Spot values by hand: t = 11: c = 79/80, 12 c^3 + 6 = 17.555 -> 17; t = 50: c = 1/2 -> 7.5 -> 7; t = 90: c = 0 -> 6.
        Assert.Equal((17, false), allocator.BudgetSchedule(11));
        Assert.Equal((7, true), allocator.BudgetSchedule(50));
        Assert.Equal((6, true), allocator.BudgetSchedule(90));
        Assert.Equal((18, false), allocator.BudgetSchedule(10));
        Assert.Equal((6, true), allocator.BudgetSchedule(91));
        foreach (var l in layers) l.Dispose();
    }

    [Fact]
    public void Triplet_scores_follow_the_smoothed_sensitivity_and_uncertainty_by_hand()
    {
        const double b1 = 0.7, b2 = 0.6;
        var config = new AdaLoraConfig { InitR = 2, TargetR = 1, TotalStep = 10, Beta1 = b1, Beta2 = b2 };
        using var layer = new AdaLoraLinear("m", 0, nn.Linear(3, 2), config);
        using var allocator = new RankAllocator([layer], config);
        var random = new Random(4);
        double[] Values(int n) => Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble() * 2 - 1, 3)).ToArray();
        var shapes = new (TorchSharp.Modules.Parameter P, int Rows, int Cols)[] { (layer.A, 2, 3), (layer.B, 2, 2), (layer.E, 2, 1) };
        var p = shapes.Select(s => Values(s.Rows * s.Cols)).ToArray();
        using (no_grad())
            for (var k = 0; k < 3; k++) shapes[k].P.copy_(tensor(p[k].Select(v => (float)v).ToArray()).reshape(shapes[k].Rows, shapes[k].Cols));

        var sensitivity = shapes.Select(s => new double[s.Rows * s.Cols]).ToArray();
        var uncertainty = shapes.Select(s => new double[s.Rows * s.Cols]).ToArray();
        for (var update = 0; update < 3; update++)
        {
            for (var k = 0; k < 3; k++)
            {
                var g = Values(shapes[k].Rows * shapes[k].Cols);
                shapes[k].P.grad = tensor(g.Select(v => (float)v).ToArray()).reshape(shapes[k].Rows, shapes[k].Cols);
                for (var j = 0; j < g.Length; j++)
                {
                    var ipt = Math.Abs(p[k][j] * g[j]);
                    sensitivity[k][j] = b1 * sensitivity[k][j] + (1 - b1) * ipt;
                    uncertainty[k][j] = b2 * uncertainty[k][j] + (1 - b2) * Math.Abs(ipt - sensitivity[k][j]);
                }
            }
            allocator.UpdateImportance();
        }
        double Score(int k, int j) => sensitivity[k][j] * uncertainty[k][j];
        var scores = allocator.TripletScores()[0];
        for (var i = 0; i < 2; i++)
        {
            var e = Score(2, i);
            var a = Enumerable.Range(0, 3).Average(j => Score(0, i * 3 + j));   // row i of A [2, 3]
            var b = Enumerable.Range(0, 2).Average(o => Score(1, o * 2 + i));   // column i of B [2, 2]
            var expected = e + a + b;
            output.WriteLine($"triplet {i}: allocator {scores[i]:G6}, by hand {expected:G6}");
            Assert.True(Math.Abs(scores[i] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)) + 1e-9, $"triplet {i}: {scores[i]} vs {expected}");
            Assert.True(expected > 0);
        }
        foreach (var s in shapes) { var g = s.P.grad; s.P.grad = null; g?.Dispose(); }
    }

    [Fact]
    public void Masking_removes_exactly_the_lowest_scored_triplets()
    {
        manual_seed(6);
        var config = new AdaLoraConfig { InitR = 5, TargetR = 3, TotalStep = 100 };
        var layers = Layers(config, (4, 3), (6, 2), (3, 5));
        using var allocator = new RankAllocator(layers, config);
        foreach (var l in layers) TestTensors.NonZero(l.E, 1.0);
        for (var update = 0; update < 4; update++)
        {
            foreach (var p in layers.SelectMany(l => l.TrainableParameters()))
            {
                using var old = p.grad;
                p.grad = randn(p.shape);
            }
            allocator.UpdateImportance();
        }
        var scores = allocator.TripletScores();
        var before = layers.Select(l => l.E.clone()).ToList();
        const int budget = 9;
        var pattern = allocator.MaskToBudget(budget);

        var ranked = scores.SelectMany((s, layer) => s.Select((v, i) => (Layer: layer, Index: i, Score: v))).OrderBy(t => t.Score).ToList();
        Assert.Equal(ranked.Count, ranked.Select(t => t.Score).Distinct().Count());
        var lowest = ranked.Take(15 - budget).Select(t => (t.Layer, t.Index)).ToHashSet();
        for (var l = 0; l < layers.Count; l++)
        {
            Assert.Equal(pattern[layers[l].Name], layers[l].RankMask);
            for (var i = 0; i < 5; i++)
            {
                var masked = lowest.Contains((l, i));
                Assert.Equal(!masked, pattern[layers[l].Name][i]);
                var e = layers[l].E[i, 0].item<float>();
                if (masked) Assert.Equal(0f, e);
                else Assert.Equal(before[l][i, 0].item<float>(), e);
            }
        }
        Assert.Equal(budget, allocator.Ranks.Values.Sum());
        output.WriteLine($"ranks after masking to {budget}: {string.Join(", ", allocator.Ranks.Select(kv => $"{kv.Key}={kv.Value}"))}");
        foreach (var t in before) t.Dispose();
        foreach (var p in layers.SelectMany(l => l.TrainableParameters())) { var g = p.grad; p.grad = null; g?.Dispose(); }
        foreach (var l in layers) l.Dispose();
    }

    [Fact]
    public void Training_ends_at_the_target_budget_with_a_fixed_final_pattern()
    {
        manual_seed(11);
        using var teacher = new TinyModel(dim: 6, hidden: 10);
        manual_seed(12);
        using var model = new TinyModel(dim: 6, hidden: 10);
        var config = new AdaLoraConfig { InitR = 4, TargetR = 2, TInit = 5, TFinal = 10, DeltaT = 5, TotalStep = 60, Seed = 3 };
        var layers = AdapterInjector.Inject(model, _ => true, s => new AdaLoraLinear(s.Name, s.Index, s.Layer, config));
        using var optimizer = new AdamOptimizer(AdapterInjector.MarkOnlyAdaptersTrainable(model), new AdamOptions { LearningRate = 1e-2 });
        using var allocator = new RankAllocator(layers, config);
        using var x = randn(32, 6);
        using var target = teacher.call(x).detach();
        var budgets = new List<(long Step, int Budget, int Kept)>();
        double firstLoss = 0, lastLoss = 0;
        for (long step = 1; step <= 60; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var mse = (model.call(x) - target).square().mean();
                var loss = mse + allocator.OrthogonalLoss();
                loss.backward();
                if (step == 1) firstLoss = mse.item<float>();
                lastLoss = mse.item<float>();
            }
            optimizer.Step();
            var allocation = allocator.UpdateAndAllocate(step);
            optimizer.ZeroGrad();
            if (allocation.Masked) budgets.Add((step, allocation.Budget, allocator.Ranks.Values.Sum()));
            if (step > 50)
            {
                // After T - tfinal the final pattern is re-applied every step.
                Assert.Same(allocator.RankPattern, allocation.RankPattern);
                foreach (var l in layers)
                    for (var i = 0; i < l.AllocatedRank; i++)
                        if (!l.RankMask[i]) Assert.Equal(0f, l.E[i, 0].item<float>());
            }
        }
        output.WriteLine($"mse {firstLoss:G4} -> {lastLoss:G4}; (step, budget, kept): {string.Join(" ", budgets.Select(b => $"({b.Step},{b.Budget},{b.Kept})"))}");
        output.WriteLine($"final ranks: {string.Join(", ", allocator.Ranks.Select(kv => $"{kv.Key}={kv.Value}"))}");
        Assert.Equal(36, allocator.InitialBudget);
        Assert.Equal(layers.Count * 2, allocator.Ranks.Values.Sum());
        Assert.All(budgets, b => Assert.Equal(b.Budget, b.Kept));
        Assert.Equal([10L, 15L, 20L, 25L, 30L, 35L, 40L, 45L, 50L], budgets.Where(b => b.Step <= 50).Select(b => b.Step));
        Assert.True(lastLoss < firstLoss);
        Assert.NotNull(allocator.RankPattern);
        Assert.Equal(layers.Select(l => l.Name).Order(), allocator.RankPattern!.Keys.Order());

        // Dropping the masked triplets (ranks may reach 0) changes nothing, and the pruned state loads into modules built
        // with the reported ranks.
        using var before = model.call(x);
        foreach (var l in layers)
        {
            var pruning = l.Prune();
            optimizer.Remove(pruning.OldA); optimizer.Remove(pruning.OldB); optimizer.Remove(pruning.OldE);
            pruning.OldA.Dispose(); pruning.OldB.Dispose(); pruning.OldE.Dispose();
        }
        using var after = model.call(x);
        Assert.True(TestTensors.MaxAbsDiff(before, after) <= 1e-6, $"pruning changed the output by {TestTensors.MaxAbsDiff(before, after)}");
        var ranks = allocator.Ranks;
        manual_seed(12);
        using var reloaded = new TinyModel(dim: 6, hidden: 10);
        AdapterInjector.Inject(reloaded, _ => true, s => new AdaLoraLinear(s.Name, s.Index, s.Layer, config, rank: ranks[s.Name]));
        reloaded.load_state_dict(model.state_dict());
        using var again = reloaded.call(x);
        Assert.True(TestTensors.MaxAbsDiff(before, again) <= 1e-6);
    }
}
