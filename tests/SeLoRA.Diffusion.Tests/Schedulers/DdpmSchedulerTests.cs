using SeLoRA.Diffusion.Schedulers;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

public class DdpmSchedulerTests(ITestOutputHelper output)
{
    static readonly long[] SomeTimesteps = [0, 1, 499, 999];

    [Fact]
    public void AddNoiseIsTheForwardProcessPerSample()
    {
        var scheduler = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
        using var x0 = SchedulerFixtures.DummySampleDeter();
        using var generator = new Generator(7);
        using var noise = randn([4, 3, 8, 8], generator: generator);
        using var timesteps = tensor(SomeTimesteps);
        using var noisy = scheduler.AddNoise(x0, noise, timesteps);
        Assert.Equal(x0.shape, noisy.shape);
        Assert.Equal(ScalarType.Float32, noisy.dtype);
        for (var b = 0; b < 4; b++)
        {
            var acp = scheduler.Schedule.AlphaCumprod(SomeTimesteps[b]);
            using var expected = x0[b].to(ScalarType.Float64) * Math.Sqrt(acp) + noise[b].to(ScalarType.Float64) * Math.Sqrt(1 - acp);
            Assert.True(SchedulerFixtures.MaxAbsDiff(noisy[b], expected) < 1e-6, $"sample {b}");
        }
    }

    [Fact]
    public void AddNoiseWithAlphaBarNearOneLeavesTheSampleAlmostUnchanged()
    {
        // Linear test schedule: acp[0] = 0.9999, so x_0 moves by at most (1 - 0.99995) |x| + 0.01 |noise|.
        var scheduler = new DdpmScheduler(SchedulerFixtures.TestConfig());
        using var x0 = SchedulerFixtures.DummySampleDeter();
        using var noise = ones_like(x0);
        using var t0 = tensor(new long[] { 0, 0, 0, 0 });
        using var noisy = scheduler.AddNoise(x0, noise, t0);
        var change = SchedulerFixtures.MaxAbsDiff(noisy, x0);
        Assert.True(change <= 0.0101, $"max change {change}");
        Assert.True(change >= 0.0099, $"max change {change}");
        using var zero = zeros_like(x0);
        using var noiseless = scheduler.AddNoise(x0, zero, t0);
        Assert.True(SchedulerFixtures.MaxAbsDiff(noiseless, x0) < 1e-4);
    }

    [Fact]
    public void ScalarTimestepBroadcastsOverTheBatch()
    {
        var scheduler = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
        using var x0 = SchedulerFixtures.DummySampleDeter();
        using var noise = x0.flip(0);
        using var scalar = tensor(499L);
        using var batch = tensor(new long[] { 499, 499, 499, 499 });
        using var a = scheduler.AddNoise(x0, noise, scalar);
        using var b = scheduler.AddNoise(x0, noise, batch);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(a, b));
        Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x0, noise, tensor(new[] { 1.5f })));
    }

    [Fact]
    public void VelocityAndTargets()
    {
        using var x0 = SchedulerFixtures.DummySampleDeter();
        using var generator = new Generator(3);
        using var noise = randn([4, 3, 8, 8], generator: generator);
        using var timesteps = tensor(SomeTimesteps);

        var v = new DdpmScheduler(SchedulerConfig.StableDiffusion15 with { PredictionType = PredictionType.VPrediction });
        using var velocity = v.GetVelocity(x0, noise, timesteps);
        using var noisy = v.AddNoise(x0, noise, timesteps);
        for (var b = 0; b < 4; b++)
        {
            var acp = v.Schedule.AlphaCumprod(SomeTimesteps[b]);
            using var expected = noise[b] * Math.Sqrt(acp) - x0[b] * Math.Sqrt(1 - acp);
            Assert.True(SchedulerFixtures.MaxAbsDiff(velocity[b], expected) < 1e-6);
            // x0 = sqrt(acp) x_t - sqrt(1 - acp) v.
            using var recovered = noisy[b] * Math.Sqrt(acp) - velocity[b] * Math.Sqrt(1 - acp);
            Assert.True(SchedulerFixtures.MaxAbsDiff(recovered, x0[b]) < 1e-5);
        }
        using var vTarget = v.GetTarget(x0, noise, timesteps);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(vTarget, velocity));

        using var epsTarget = new DdpmScheduler(SchedulerConfig.StableDiffusion15).GetTarget(x0, noise, timesteps);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(epsTarget, noise));
        using var sampleTarget = new DdpmScheduler(SchedulerConfig.StableDiffusion15 with { PredictionType = PredictionType.Sample })
            .GetTarget(x0, noise, timesteps);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(sampleTarget, x0));
    }

    [Fact]
    public void SnrIsAlphaBarOverOneMinusAlphaBar()
    {
        var scheduler = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
        using var timesteps = tensor(SomeTimesteps);
        using var snr = scheduler.Snr(timesteps);
        Assert.Equal(ScalarType.Float32, snr.dtype);
        Assert.Equal([4L], snr.shape);
        var values = snr.data<float>().ToArray();
        for (var i = 0; i < 4; i++)
        {
            var acp = scheduler.Schedule.AlphaCumprod(SomeTimesteps[i]);
            var expected = acp / (1 - acp);
            Assert.Equal(expected, values[i], expected * 1e-5);
            Assert.Equal(expected, scheduler.Snr(SomeTimesteps[i]), expected * 1e-12);
        }
        Assert.True(values[0] > values[1] && values[1] > values[2] && values[2] > values[3]);
    }

    [Fact]
    public void SampledTrainingTimestepsAreInRangeAndReproducible()
    {
        var scheduler = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
        using var g1 = new Generator(11);
        using var g2 = new Generator(11);
        using var a = scheduler.SampleTimesteps(256, generator: g1);
        using var b = scheduler.SampleTimesteps(256, generator: g2);
        Assert.Equal(ScalarType.Int64, a.dtype);
        Assert.Equal(a.data<long>().ToArray(), b.data<long>().ToArray());
        Assert.True(a.min().item<long>() >= 0 && a.max().item<long>() <= 999);
    }

    [Fact]
    public void StepAtTimestepZeroIsThePosteriorMean()
    {
        var scheduler = new DdpmScheduler(SchedulerFixtures.TestConfig());
        using var sample = SchedulerFixtures.DummySampleDeter();
        using var eps = SchedulerFixtures.DummyModel(sample, 0);
        using var prev = scheduler.Step(eps, 0, sample);
        // t = 0: no noise; alpha-bar_prev is 1, so x_prev = clip(x0_pred) = clip((x - sqrt(beta) eps) / sqrt(acp)).
        var acp = scheduler.Schedule.AlphaCumprod(0);
        using var expected = ((sample - eps * Math.Sqrt(1 - acp)) / Math.Sqrt(acp)).clamp(-1, 1);
        Assert.True(SchedulerFixtures.MaxAbsDiff(prev, expected) < 1e-6);
    }

    [Fact]
    public void DynamicThresholdingClampsEachSampleAtItsQuantile()
    {
        // At t = 0 with zero noise prediction the step returns threshold(x / sqrt(acp[0])).
        var config = SchedulerFixtures.TestConfig() with { Thresholding = true, SampleMaxValue = 5.0, DynamicThresholdingRatio = 0.9 };
        var scheduler = new DdpmScheduler(config);
        using var sample = (SchedulerFixtures.DummySampleDeter() - 0.5) * 8;
        using var eps = zeros_like(sample);
        using var prev = scheduler.Step(eps, 0, sample);
        using var x0 = (sample / Math.Sqrt(scheduler.Schedule.AlphaCumprod(0))).reshape(4, -1);
        for (var b = 0; b < 4; b++)
        {
            var values = x0[b].data<float>().ToArray();
            var sorted = values.Select(Math.Abs).OrderBy(v => v).ToArray();
            var position = 0.9 * (sorted.Length - 1);
            var lower = (int)Math.Floor(position);
            var q = sorted[lower] + (position - lower) * (sorted[lower + 1] - sorted[lower]);
            var s = Math.Clamp(q, 1.0, 5.0);
            var expected = values.Select(v => Math.Clamp(v, -s, s) / s).ToArray();
            var actual = prev.reshape(4, -1)[b].data<float>().ToArray();
            for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5);
            Assert.Equal(1.0, actual.Max(Math.Abs), 1e-6);
        }
    }

    // Published in diffusers' tests/schedulers/test_scheduler_ddpm.py (test_full_loop_no_noise and
    // test_full_loop_with_v_prediction): all 1000 ancestral steps, noise from torch.manual_seed(0).
    [Theory]
    [InlineData(PredictionType.Epsilon, 258.9606, 0.3372)]
    [InlineData(PredictionType.VPrediction, 202.0296, 0.2631)]
    public void PublishedFullLoops(PredictionType prediction, double sum, double mean)
    {
        var scheduler = new DdpmScheduler(SchedulerFixtures.TestConfig() with { PredictionType = prediction, ClipSample = true });
        var sample = SchedulerFixtures.DummySampleDeter();
        using var generator = new Generator(0);
        for (var t = 999L; t >= 0; t--)
        {
            using var eps = SchedulerFixtures.DummyModel(sample, t);
            var next = scheduler.Step(eps, t, sample, generator);
            sample.Dispose();
            sample = next;
        }
        using (sample)
        {
            output.WriteLine($"{prediction}: sum {SchedulerFixtures.AbsSum(sample):F6} mean {SchedulerFixtures.AbsMean(sample):F6}");
            Assert.True(Math.Abs(SchedulerFixtures.AbsSum(sample) - sum) < 1e-2, $"sum {SchedulerFixtures.AbsSum(sample)}");
            Assert.True(Math.Abs(SchedulerFixtures.AbsMean(sample) - mean) < 1e-3, $"mean {SchedulerFixtures.AbsMean(sample)}");
        }
    }

    [Fact]
    public void StepsAreReproducibleWithAGeneratorAndTimestepsFollowTheSpacing()
    {
        var scheduler = new DdpmScheduler(SchedulerFixtures.TestConfig());
        Assert.Equal(1000, scheduler.Timesteps.Length);
        Assert.Equal(998, scheduler.PreviousTimestep(999));
        scheduler.SetTimesteps(10);
        Assert.Equal([900L, 800, 700, 600, 500, 400, 300, 200, 100, 0], scheduler.Timesteps);
        Assert.Equal(800, scheduler.PreviousTimestep(900));

        using var sample = SchedulerFixtures.DummySampleDeter();
        using var eps = SchedulerFixtures.DummyModel(sample, 500);
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        using var a = scheduler.Step(eps, 500, sample, g1);
        using var b = scheduler.Step(eps, 500, sample, g2);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(a, b));
    }
}
