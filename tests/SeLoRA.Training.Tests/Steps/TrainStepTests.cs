using SeLoRA.Data.Sampling;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Steps;

public sealed class TrainStepTests(ITestOutputHelper output)
{
    /// <summary>
    /// After one step (so LoRA B is non-zero and every gradient is), the flat gradient of the global batch of 6 equals the
    /// sum, in worker order, of the shard gradients for W = 2 and 3.
    /// </summary>
    [Fact]
    public void Shard_gradients_sum_to_the_global_batch_gradient()
    {
        using var f = new StepFixture();
        f.Step.RunStep(f.Batch, 1);
        var fullLoss = f.Step.ComputeGradients(f.Batch, 2);
        var full = f.Step.ExportGradients();
        f.Optimizer.ZeroGrad();
        Assert.True(Norm(full) > 0);
        Assert.Equal(f.Step.GradientLength, full.LongLength);
        foreach (var world in new[] { 2, 3 })
        {
            var buffers = new List<float[]>();
            double lossSum = 0;
            for (var rank = 0; rank < world; rank++)
            {
                var (offset, count) = ShardedBatchSampler.SliceOf(f.Batch.Count, world, rank);
                lossSum += f.Step.ComputeGradients(f.Batch.Slice(offset, count), 2);
                buffers.Add(f.Step.ExportGradients());
                f.Optimizer.ZeroGrad();
            }
            var sum = GradientBuffer.Sum(buffers);
            var relative = Norm(Diff(sum, full)) / Norm(full);
            var maxElement = Diff(sum, full).Max(Math.Abs) / full.Max(Math.Abs);
            output.WriteLine($"W={world}: loss {lossSum:G9} vs {fullLoss:G9}; relative L2 difference {relative:E2}, max element difference / max |g| {maxElement:E2}, {full.Length} elements");
            Assert.True(relative < 1e-6, $"W={world}: relative difference {relative:E2}");
            Assert.Equal(fullLoss, lossSum, 1e-6 * fullLoss);
        }
    }

    [Fact]
    public void The_same_seed_gives_bit_identical_losses_and_gradients_and_another_seed_differs()
    {
        (double Loss, float[] Gradient) Run(ulong seed)
        {
            using var f = new StepFixture(seed);
            f.Step.RunStep(f.Batch, 1);
            var loss = f.Step.ComputeGradients(f.Batch, 2);
            return (loss, f.Step.ExportGradients());
        }

        var a = Run(5);
        var b = Run(5);
        var c = Run(6);
        Assert.Equal(a.Loss, b.Loss);
        Assert.Equal(a.Gradient, b.Gradient);
        Assert.NotEqual(a.Loss, c.Loss);
        Assert.NotEqual(a.Gradient, c.Gradient);
    }

    [Fact]
    public void Import_then_export_round_trips_and_the_keyed_noise_does_not_depend_on_the_split()
    {
        using var f = new StepFixture();
        f.Step.ComputeGradients(f.Batch, 1);
        var buffer = f.Step.ExportGradients();
        var doubled = GradientBuffer.Sum([buffer, buffer]);
        f.Step.ImportGradients(doubled);
        Assert.Equal(doubled, f.Step.ExportGradients());
        Assert.Throws<ArgumentException>(() => f.Step.ImportGradients(new float[3]));

        var (all, tAll) = StepRandomness.ForSamples(5, 3, [0, 1, 2, 3], [4, 8, 8], 1000, CPU, ScalarType.Float32);
        var (tail, tTail) = StepRandomness.ForSamples(5, 3, [2, 3], [4, 8, 8], 1000, CPU, ScalarType.Float32);
        Assert.True(all[2..].equal(tail).all().item<bool>());
        Assert.True(tAll[2..].equal(tTail).all().item<bool>());
        Assert.False(all[0].equal(all[1]).all().item<bool>());
        foreach (var t in new[] { all, tAll, tail, tTail }) t.Dispose();
    }

    /// <summary>
    /// SeLoRA test every 2 steps with lambda 1.0: layers expand, the U-Net prediction is unchanged across the expansion,
    /// and training on a fixed batch (fixed noise and timesteps) lowers its loss over 10 steps at lr 1e-3.
    /// </summary>
    [Fact]
    public void SeLoRA_tests_expand_layers_without_changing_the_output_and_the_loss_goes_down()
    {
        using var f = new StepFixture(globalBatchSize: 3, lambda: 1.0, testInterval: 2);
        const long key = 0; // the same noise and timesteps every step: a fixed objective
        var before = f.Step.EvaluateLoss(f.Batch, key);
        var expanded = 0;
        double worstChange = 0;
        for (long s = 1; s <= 10; s++)
        {
            f.Step.ComputeGradients(f.Batch, key);
            f.Controller.RecordOriginalScores(s);
            f.Step.Apply(s);
            if (!f.Controller.IsTestStep(s)) continue;
            var (p0, _) = f.Step.Predict(f.Batch, key);
            var result = f.Controller.RunTest(s, () => f.Step.ComputeTrialGradients(f.Batch, key));
            var (p1, _) = f.Step.Predict(f.Batch, key);
            var change = (p1 - p0).abs().max().item<float>() / p0.abs().max().item<float>();
            worstChange = Math.Max(worstChange, change);
            expanded += result.ExpandedCount;
            output.WriteLine($"step {s}: {result.ExpandedCount}/{result.Decisions.Count} layers expanded, output change {change:E2}");
            p0.Dispose();
            p1.Dispose();
        }
        var after = f.Step.EvaluateLoss(f.Batch, key);
        output.WriteLine($"loss {before:G6} -> {after:G6}; {expanded} expansions; ranks now {string.Join(",", f.Layers.Select(l => l.Rank).Distinct().Order())}");
        Assert.True(expanded > 0, "no layer expanded with lambda 1.0");
        Assert.True(worstChange < 1e-5, $"expansion changed the output by {worstChange:E2}");
        Assert.True(after < before, $"loss did not go down: {before} -> {after}");
        // The optimizer follows the expanded parameters, so the buffer layout grows with the ranks.
        Assert.Equal(f.Layers.Sum(l => l.TrainableParameters().Sum(p => p.numel())), f.Step.GradientLength);
    }

    /// <summary>The data-parallel test path: trial buffers of shards sum to the full batch's, and scores from the buffer match the layers'.</summary>
    [Fact]
    public void Shard_trial_gradients_sum_to_the_global_trial_gradient()
    {
        using var f = new StepFixture();
        f.Step.RunStep(f.Batch, 1);
        f.Controller.EnterTrial();
        try
        {
            f.Step.ComputeTrialGradients(f.Batch, 1);
            var full = f.Step.ExportTrialGradients();
            var layerScores = f.Controller.TrialScores();
            var bufferScores = f.Step.TrialScoresFrom(full);
            for (var i = 0; i < layerScores.Length; i++) Assert.Equal(layerScores[i], bufferScores[i], 1e-9 * Math.Max(1e-30, layerScores[i]));
            var buffers = new List<float[]>();
            for (var rank = 0; rank < 2; rank++)
            {
                f.Controller.ExitTrial(); // fresh trial leaves, no gradients; same values (trial rows are kept)
                f.Controller.EnterTrial();
                var (offset, count) = ShardedBatchSampler.SliceOf(f.Batch.Count, 2, rank);
                f.Step.ComputeTrialGradients(f.Batch.Slice(offset, count), 1);
                buffers.Add(f.Step.ExportTrialGradients());
            }
            var relative = Norm(Diff(GradientBuffer.Sum(buffers), full)) / Norm(full);
            output.WriteLine($"trial buffer: {full.Length} elements, W=2 relative L2 difference {relative:E2}");
            Assert.True(Norm(full) > 0);
            Assert.True(relative < 1e-6, $"relative difference {relative:E2}");
        }
        finally
        {
            f.Controller.ExitTrial();
        }
    }

    [Fact]
    public void Min_snr_weighting_scales_each_sample_by_min_of_snr_and_gamma_over_snr()
    {
        const double Gamma = 0.1;
        using var f = new StepFixture(globalBatchSize: 3);
        var weighted = new TrainStep(f.Models.TextEncoder, f.Models.Unet, new DdpmScheduler(SchedulerConfig.FromJsonText(f.Models.SchedulerConfig.ToJsonString())),
            f.Optimizer, f.Step.Options with { MinSnrGamma = Gamma });
        var plain = f.Step.EvaluateLoss(f.Batch, 4);
        var actual = weighted.EvaluateLoss(f.Batch, 4);
        var (prediction, target) = f.Step.Predict(f.Batch, 4);
        using var mse = (prediction - target).pow(2).mean(new long[] { 1, 2, 3 });
        var scheduler = new DdpmScheduler(SchedulerConfig.FromJsonText(f.Models.SchedulerConfig.ToJsonString()));
        double expected = 0, unweighted = 0;
        for (var i = 0; i < 3; i++)
        {
            var t = StepRandomness.Timestep(f.Step.Options.Seed, 4, i, scheduler.NumTrainTimesteps);
            var snr = scheduler.Snr(t);
            output.WriteLine($"sample {i}: t {t}, snr {snr:G4}");
            var m = mse[i].item<float>();
            expected += Math.Min(snr, Gamma) / snr * m / 3;
            unweighted += m / 3;
        }
        prediction.Dispose();
        target.Dispose();
        output.WriteLine($"plain {plain:G6}, min-snr-{Gamma} {actual:G6} (expected {expected:G6})");
        Assert.Equal(unweighted, plain, 1e-5 * unweighted);
        Assert.Equal(expected, actual, 1e-5 * expected);
        Assert.NotEqual(plain, actual);
    }

    static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    static float[] Diff(float[] a, float[] b) => a.Zip(b, (x, y) => x - y).ToArray();
}
