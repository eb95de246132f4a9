using SeLoRA.Diffusion.Schedulers;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

public class DdimSchedulerTests(ITestOutputHelper output)
{
    [Fact]
    public void PublishedTimesteps()
    {
        using var vectors = SchedulerFixtures.Vectors();
        var expected = SchedulerFixtures.Longs(vectors.RootElement.GetProperty("ddim.steps_offset1_5steps_timesteps(published)"));
        using var scheduler = new DdimScheduler(SchedulerFixtures.TestConfig(extra: ("steps_offset", "1")));
        scheduler.SetTimesteps(5);
        Assert.Equal(expected, scheduler.Timesteps);
    }

    [Fact]
    public void Sd15Timesteps()
    {
        using var vectors = SchedulerFixtures.Vectors();
        var expected = SchedulerFixtures.Longs(vectors.RootElement.GetProperty("sd15_trajectories").GetProperty("ddim_sd15").GetProperty("timesteps"));
        using var scheduler = new DdimScheduler(SchedulerConfig.StableDiffusion15);
        scheduler.SetTimesteps(50);
        Assert.Equal(expected, scheduler.Timesteps);
    }

    [Theory]
    [InlineData(TimestepSpacing.Leading, 0, new long[] { 900, 800, 700, 600, 500, 400, 300, 200, 100, 0 })]
    [InlineData(TimestepSpacing.Trailing, 0, new long[] { 999, 899, 799, 699, 599, 499, 399, 299, 199, 99 })]
    [InlineData(TimestepSpacing.Linspace, 0, new long[] { 999, 888, 777, 666, 555, 444, 333, 222, 111, 0 })]
    public void Spacings(TimestepSpacing spacing, int offset, long[] expected)
    {
        using var scheduler = new DdimScheduler(new SchedulerConfig { TimestepSpacing = spacing, StepsOffset = offset });
        scheduler.SetTimesteps(10);
        Assert.Equal(expected, scheduler.Timesteps);
        // numpy rounds halves to even: linspace(0, 999, 3) = [0, 499.5, 999] -> [0, 500, 999].
        using var linspace = new DdimScheduler(new SchedulerConfig { TimestepSpacing = TimestepSpacing.Linspace });
        linspace.SetTimesteps(3);
        Assert.Equal([999L, 500, 0], linspace.Timesteps);
        using var trailing = new DdimScheduler(new SchedulerConfig { TimestepSpacing = TimestepSpacing.Trailing });
        trailing.SetTimesteps(3);
        Assert.Equal([999L, 666, 332], trailing.Timesteps);
    }

    [Fact]
    public void PublishedVariances()
    {
        using var vectors = SchedulerFixtures.Vectors();
        using var scheduler = new DdimScheduler(SchedulerFixtures.TestConfig(extra: ("clip_sample", "true")));
        foreach (var pair in vectors.RootElement.GetProperty("ddim._get_variance(published)").EnumerateObject())
        {
            var parts = pair.Name.Split(',').Select(long.Parse).ToArray();
            var variance = scheduler.GetVariance(parts[0], parts[1]);
            output.WriteLine($"variance({pair.Name}) = {variance:R} (diffusers {pair.Value.GetDouble():R})");
            Assert.True(Math.Abs(variance - pair.Value.GetDouble()) < 1e-5, $"{pair.Name}: {variance}");
            Assert.True(Math.Abs(variance - pair.Value.GetDouble()) < 1e-7, $"{pair.Name}: {variance} (float32 re-run)");
        }
    }

    [Theory]
    [InlineData("ddim.full_loop_no_noise")]
    [InlineData("ddim.full_loop_with_v_prediction")]
    [InlineData("ddim.full_loop_with_set_alpha_to_one")]
    [InlineData("ddim.full_loop_with_no_set_alpha_to_one")]
    public void PublishedFullLoops(string name)
    {
        using var vectors = SchedulerFixtures.Vectors();
        var entry = vectors.RootElement.GetProperty(name);
        using var scheduler = new DdimScheduler(SchedulerFixtures.TestConfig(entry.GetProperty("config_overrides"), ("clip_sample", "true")));
        scheduler.SetTimesteps(10);
        var sample = SchedulerFixtures.DummySampleDeter();
        foreach (var t in scheduler.Timesteps)
        {
            using var eps = SchedulerFixtures.DummyModel(sample, t);
            var next = scheduler.Step(eps, t, sample);
            sample.Dispose();
            sample = next;
        }
        using (sample)
        {
            SchedulerFixtures.AssertFullLoop(name, entry, sample, output);
        }
    }

    [Fact]
    public void Sd15TrajectoryMatchesDiffusers()
    {
        SchedulerFixtures.AssertSd15Trajectory("ddim", new DdimScheduler(SchedulerConfig.StableDiffusion15), output);
    }

    [Fact]
    public void EtaAddsScaledNoiseFromTheGenerator()
    {
        var config = SchedulerConfig.StableDiffusion15;
        using var sample = SchedulerFixtures.DummySampleDeter();
        using var eps = SchedulerFixtures.DummyModel(sample, 501);
        const double eta = 0.7;

        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        using var a = new DdimScheduler(config, eta, g1);
        using var b = new DdimScheduler(config, eta, g2);
        a.SetTimesteps(50);
        b.SetTimesteps(50);
        using var stepA = a.Step(eps, 501, sample);
        using var stepB = b.Step(eps, 501, sample);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(stepA, stepB));

        // With explicit noise, x_prev(noise) - x_prev(0) = eta * sqrt(variance) * noise.
        using var g3 = new Generator(1);
        using var noise = randn([4, 3, 8, 8], generator: g3);
        using var zero = zeros_like(noise);
        using var withNoise = a.Step(eps, 501, sample, eta, null, varianceNoise: noise);
        using var withZero = a.Step(eps, 501, sample, eta, null, varianceNoise: zero);
        var std = eta * Math.Sqrt(a.GetVariance(501, 481));
        using var expected = noise * std;
        Assert.True(SchedulerFixtures.MaxAbsDiff(withNoise - withZero, expected) < 1e-6);

        using var deterministic = new DdimScheduler(config);
        deterministic.SetTimesteps(50);
        using var plain = deterministic.Step(eps, 501, sample);
        Assert.True(SchedulerFixtures.MaxAbsDiff(plain, stepA) > 1e-3);

        Assert.Throws<ArgumentException>(() => new DdimScheduler(config, eta));
        Assert.Throws<ArgumentException>(() => deterministic.Step(eps, 501, sample, eta, null));
    }

    [Fact]
    public void SamplePredictionRecoversEpsilon()
    {
        // A sample-predicting model that returns the true x0 must land where an epsilon model with the true noise does.
        var eps = SchedulerConfig.StableDiffusion15;
        using var epsScheduler = new DdimScheduler(eps);
        using var x0Scheduler = new DdimScheduler(eps with { PredictionType = PredictionType.Sample });
        using var vScheduler = new DdimScheduler(eps with { PredictionType = PredictionType.VPrediction });
        epsScheduler.SetTimesteps(50);
        x0Scheduler.SetTimesteps(50);
        vScheduler.SetTimesteps(50);
        using var x0 = SchedulerFixtures.DummySampleDeter();
        using var noise = x0.flip(1) - 0.5;
        var ddpm = new DdpmScheduler(eps with { PredictionType = PredictionType.VPrediction });
        using var t = tensor(new long[] { 501 });
        using var xt = ddpm.AddNoise(x0, noise, t);
        using var v = ddpm.GetVelocity(x0, noise, t);
        using var fromEps = epsScheduler.Step(noise, 501, xt);
        using var fromX0 = x0Scheduler.Step(x0, 501, xt);
        using var fromV = vScheduler.Step(v, 501, xt);
        Assert.True(SchedulerFixtures.MaxAbsDiff(fromEps, fromX0) < 1e-5);
        Assert.True(SchedulerFixtures.MaxAbsDiff(fromEps, fromV) < 1e-5);
    }

    [Fact]
    public void StepNeedsSetTimesteps()
    {
        using var scheduler = new DdimScheduler(SchedulerConfig.StableDiffusion15);
        using var x = SchedulerFixtures.DummySampleDeter();
        Assert.Throws<InvalidOperationException>(() => scheduler.Step(x, 981, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.SetTimesteps(1001));
    }
}
