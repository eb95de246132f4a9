using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.DyLora;

public sealed class DyLoraControllerTests
{
    readonly ITestOutputHelper output;

    public DyLoraControllerTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    /// <summary>One replica: its own model (different base weights per replica do not matter) and controller.</summary>
    static (TinyModel Model, DyLoraController Controller) Replica(DyLoraConfig config, int modelSeed)
    {
        manual_seed(modelSeed);
        var model = new TinyModel(dim: 4, hidden: 6);
        var layers = AdapterInjector.Inject(model, _ => true, s => new DyLoraLinear(s.Name, s.Index, s.Layer, config));
        return (model, new DyLoraController(layers, config));
    }

    static List<int[]> Run(DyLoraController controller, int steps)
    {
        var ranks = new List<int[]>();
        for (var step = 0; step < steps; step++)
        {
            var drawn = controller.BeginStep(step).ToArray();
            Assert.Equal(drawn, controller.Layers.Select(l => l.TrainingRank));
            ranks.Add(drawn);
        }
        return ranks;
    }

    [Fact]
    public void Sampled_ranks_are_deterministic_per_seed_and_identical_across_replicas()
    {
        const int steps = 300;
        var config = new DyLoraConfig { MaxRank = 8, Seed = 1234 };
        var (m1, c1) = Replica(config, 1);
        var (m2, c2) = Replica(config, 2);
        var (m3, c3) = Replica(config with { Seed = 1235 }, 1);
        using (m1) using (m2) using (m3)
        {
            var r1 = Run(c1, steps);
            var r2 = Run(c2, steps);
            var r3 = Run(c3, steps);
            Assert.Equal(r1.SelectMany(r => r), r2.SelectMany(r => r));
            // One b per step for every layer.
            Assert.All(r1, r => Assert.All(r, b => Assert.Equal(r[0], b)));
            var sequence = r1.Select(r => r[0]).ToArray();
            Assert.NotEqual(sequence, r3.Select(r => r[0]));
            // b ~ U{1..8}: every value appears, and none outside.
            var counts = Enumerable.Range(1, 8).Select(v => sequence.Count(b => b == v)).ToArray();
            output.WriteLine($"first 20 b: {string.Join(" ", sequence.Take(20))}; counts over {steps} steps: {string.Join(" ", counts)}");
            Assert.All(sequence, b => Assert.InRange(b, 1, 8));
            Assert.All(counts, c => Assert.InRange(c, 15, 60));
            // The documented draw: randint(1, 9) on DrawSeed's generator for (seed, shared stream, step + 1).
            for (var step = 0; step < 5; step++)
            {
                using var gen = DrawSeed.Generator(1234, DyLoraController.SharedStream, step + 1);
                using var expected = randint(1, 9, new long[] { 1 }, dtype: ScalarType.Int64, generator: gen);
                Assert.Equal(expected.item<long>(), sequence[step]);
            }
            // The same step always draws the same b (a resumed run continues the sequence).
            Assert.Equal(sequence[123], c1.SharedRank(123));
        }
    }

    [Fact]
    public void Per_layer_ranks_differ_between_layers_but_agree_across_replicas_and_respect_min_rank()
    {
        var config = new DyLoraConfig { MaxRank = 6, MinRank = 3, PerLayerRanks = true, Seed = 77 };
        var (m1, c1) = Replica(config, 1);
        var (m2, c2) = Replica(config, 9);
        using (m1) using (m2)
        {
            var r1 = Run(c1, 100);
            var r2 = Run(c2, 100);
            Assert.Equal(r1.SelectMany(r => r), r2.SelectMany(r => r));
            Assert.Contains(r1, r => r.Distinct().Count() > 1);
            Assert.All(r1.SelectMany(r => r), b => Assert.InRange(b, 3, 6));
            Assert.Equal(r1[17][2], c1.Layers[2].SampleRank(17));
        }
    }

    [Fact]
    public void Training_forward_uses_the_step_rank_and_eval_the_inference_rank()
    {
        var config = new DyLoraConfig { MaxRank = 4, Seed = 5 };
        var (model, controller) = Replica(config, 3);
        using (model)
        {
            foreach (var l in controller.Layers) TestTensors.NonZero(l.B, 0.3);
            using var x = randn(5, 4);
            var step = Enumerable.Range(0, 50).First(s => controller.SharedRank(s) == 2);
            controller.BeginStep(step);
            model.train();
            using var trained = model.call(x);
            model.eval();
            controller.SetInferenceRank(2);
            using var atTwo = model.call(x);
            controller.SetInferenceRank(4);
            using var full = model.call(x);
            Assert.True(TestTensors.MaxAbsDiff(trained, atTwo) <= 1e-6);
            Assert.True(TestTensors.MaxAbsDiff(trained, full) > 1e-4);
            Assert.All(controller.Layers, l => Assert.Equal(4, l.Rank));
        }
    }
}
