using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.SeLora;

public sealed class SeLoraControllerTests(ITestOutputHelper output)
{
    const int Layers = 3, In = 8, Out = 6;

    sealed class Setup : IDisposable
    {
        public required ParallelLinears Model;
        public required IReadOnlyList<SeLoraLinear> Adapters;
        public required AdamOptimizer Adam;
        public required SeLoraController Controller;
        public required Tensor Teacher; // [layers, out, in]
        public required Tensor TeacherBias; // [layers, out]

        public (Tensor, Tensor) Batch(long step)
        {
            using var gen = new Generator((ulong)(1000 + step), CPU);
            var x = randn(new long[] { 16, In }, generator: gen);
            using var scope = NewDisposeScope();
            var target = stack(Enumerable.Range(0, Layers)
                .Select(i => nn.functional.linear(x, Teacher[i], TeacherBias[i])).ToArray(), 0);
            return (x, target.MoveToOuterDisposeScope());
        }

        public void Dispose()
        {
            Adam.Dispose();
            Model.Dispose();
            Teacher.Dispose();
            TeacherBias.Dispose();
        }
    }

    static Setup Build(SeLoraConfig config, double lr, int modelSeed = 21)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(modelSeed);
        var model = new ParallelLinears(Layers, In, Out);
        var teacher = stack(Enumerable.Range(0, Layers).Select(i => model.BaseLinear(i).weight! + randn(Out, In) * 0.5).ToArray(), 0)
            .detach();
        var teacherBias = stack(Enumerable.Range(0, Layers).Select(i => model.BaseLinear(i).bias!).ToArray(), 0).detach();
        var adapters = AdapterInjector.Inject(model, _ => true, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config));
        var adam = new AdamOptimizer(AdapterInjector.MarkOnlyAdaptersTrainable(model), new AdamOptions { LearningRate = lr });
        return new Setup { Model = model, Adapters = adapters, Adam = adam, Controller = new SeLoraController(adapters, config, adam), Teacher = teacher, TeacherBias = teacherBias };
    }

    [Theory]
    [InlineData(false, 0.0)]  // faithful test; lr 0 keeps the trial at the same weights, where FI_exp >= FI_orig holds
    [InlineData(true, 1e-2)]  // fast test: FI_exp = FI_orig + ||dL/db_new||^2 by construction
    public void Lambda_one_expands_every_layer_at_every_test(bool fast, double lr)
    {
        using var s = Build(new SeLoraConfig { Lambda = 1.0, TestInterval = 3, FastTest = fast }, lr);
        var results = TrainingLoop.Run(s.Model, s.Controller, s.Adam, s.Batch, 1, 12);
        Assert.Equal([3L, 6L, 9L, 12L], results.Select(r => r.Step));
        Assert.All(results, r => Assert.All(r.Decisions, d => Assert.True(d.Expand, $"step {r.Step} {d.Name}: ratio {d.Ratio}")));
        Assert.All(s.Adapters, a => Assert.Equal(5, a.Rank));
        AssertOptimizerHoldsExactlyTheCurrentMatrices(s);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_huge_lambda_never_expands(bool fast)
    {
        using var s = Build(new SeLoraConfig { Lambda = 1e12, TestInterval = 3, FastTest = fast }, 1e-2);
        var results = TrainingLoop.Run(s.Model, s.Controller, s.Adam, s.Batch, 1, 12);
        Assert.Equal(4, results.Count);
        Assert.All(results, r => Assert.All(r.Decisions, d =>
        {
            Assert.False(d.Expand);
            Assert.Equal("ratio below lambda", d.Reason);
            Assert.True(d.Ratio >= 1 || !fast);
        }));
        Assert.All(s.Adapters, a => Assert.Equal(1, a.Rank));
    }

    [Fact]
    public void Reset_policy_restarts_the_expanded_layers_adam_state()
    {
        using var s = Build(new SeLoraConfig { Lambda = 1.0, TestInterval = 4, FastTest = true }, 1e-2);
        TrainingLoop.Run(s.Model, s.Controller, s.Adam, s.Batch, 1, 4);
        foreach (var a in s.Adapters)
        {
            Assert.Equal(2, a.Rank);
            using var stateA = s.Adam.StateOf(a.A)!;
            using var stateB = s.Adam.StateOf(a.B)!;
            Assert.Equal(0, stateA.Step);
            Assert.Null(stateA.ExpAvg);
            Assert.Equal(0, stateB.Step);
        }
        AssertOptimizerHoldsExactlyTheCurrentMatrices(s);
        // And training continues on the new matrices.
        TrainingLoop.Run(s.Model, s.Controller, s.Adam, s.Batch, 5, 6);
        using (var after = s.Adam.StateOf(s.Adapters[0].A)!) Assert.Equal(2, after.Step);
    }

    [Fact]
    public void Keep_old_rows_policy_carries_the_moments_over()
    {
        using var s = Build(new SeLoraConfig { OptimizerPolicy = RankGrowthPolicy.KeepOldRows }, 1e-2);
        TrainingLoop.Run(s.Model, s.Controller, s.Adam, s.Batch, 1, 3);
        var oldA = s.Adam.StateOf(s.Adapters[1].A)!;
        var oldB = s.Adam.StateOf(s.Adapters[1].B)!;
        var decisions = s.Adapters.Select(a => new ExpansionDecision(a.LayerIndex, a.Name, a.Rank, 1, 2, 2, a.LayerIndex == 1, null)).ToList();
        var expansions = s.Controller.Apply(decisions);
        var e = Assert.Single(expansions);
        using var newA = s.Adam.StateOf(e.NewA)!;
        using var newB = s.Adam.StateOf(e.NewB)!;
        Assert.Equal(3, newA.Step);
        Assert.True(TestTensors.Same(newA.ExpAvg!.narrow(0, 0, 1), oldA.ExpAvg!));
        Assert.True(TestTensors.Same(newA.ExpAvgSq!.narrow(0, 0, 1), oldA.ExpAvgSq!));
        Assert.True(TestTensors.Same(newB.ExpAvg!.narrow(1, 0, 1), oldB.ExpAvg!));
        Assert.Equal(0f, newA.ExpAvg!.narrow(0, 1, 1).abs().max().item<float>());
        Assert.Equal(0f, newB.ExpAvgSq!.narrow(1, 1, 1).abs().max().item<float>());
        AssertOptimizerHoldsExactlyTheCurrentMatrices(s);
        oldA.Dispose();
        oldB.Dispose();
    }

    [Fact]
    public void The_test_needs_the_original_scores_of_the_same_step()
    {
        using var s = Build(new SeLoraConfig { TestInterval = 2 }, 1e-2);
        TrainingLoop.Run(s.Model, null, s.Adam, s.Batch, 1, 2);
        Assert.Throws<InvalidOperationException>(() => s.Controller.RunTest(2, () => { }));
        Assert.Throws<InvalidOperationException>(() => s.Controller.RunTest(3, () => { }));
        Assert.All(s.Adapters, a => Assert.False(a.InTrial));
    }

    [Fact]
    public void Replicas_with_the_same_seed_agree_without_communication()
    {
        var config = new SeLoraConfig { Seed = 77, TestInterval = 5 };
        using var a = Build(config, 2e-2);
        using var b = Build(config, 2e-2);
        var ra = TrainingLoop.Run(a.Model, a.Controller, a.Adam, a.Batch, 1, 40);
        var rb = TrainingLoop.Run(b.Model, b.Controller, b.Adam, b.Batch, 1, 40);
        Assert.Equal(ra.SelectMany(r => r.Decisions), rb.SelectMany(r => r.Decisions));
        Assert.True(ra.Sum(r => r.ExpandedCount) > 0, "the run should expand at least once");
        output.WriteLine("ranks: " + string.Join(", ", a.Adapters.Select(x => x.Rank)));
        var pa = a.Model.state_dict();
        var pb = b.Model.state_dict();
        Assert.Equal(pa.Keys, pb.Keys);
        foreach (var key in pa.Keys) Assert.True(TestTensors.Same(pa[key], pb[key]), key);
        for (var i = 0; i < Layers; i++) Assert.True(TestTensors.Same(a.Adapters[i].TrialRow, b.Adapters[i].TrialRow));

        // A different run seed draws differently.
        using var c = Build(config with { Seed = 78 }, 2e-2);
        using var d = Build(config, 2e-2);
        Assert.False(TestTensors.Same(c.Adapters[0].TrialRow, d.Adapters[0].TrialRow));
    }

    static void AssertOptimizerHoldsExactlyTheCurrentMatrices(Setup s)
    {
        var current = s.Adapters.SelectMany(a => a.TrainableParameters()).ToList();
        Assert.Equal(current.Count, s.Adam.Parameters.Count);
        foreach (var p in s.Adam.Parameters) Assert.Contains(current, c => ReferenceEquals(c, p));
        Assert.All(current, p => Assert.True(s.Adam.Contains(p)));
    }
}
