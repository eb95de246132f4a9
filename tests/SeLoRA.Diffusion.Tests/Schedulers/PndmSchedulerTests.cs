using SeLoRA.Diffusion.Schedulers;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

public class PndmSchedulerTests(ITestOutputHelper output)
{
    [Fact]
    public void PublishedTimestepsWithPrkWarmUp()
    {
        using var vectors = SchedulerFixtures.Vectors();
        var expected = SchedulerFixtures.Longs(vectors.RootElement.GetProperty("pndm.steps_offset1_10steps_timesteps(published)"));
        using var scheduler = new PndmScheduler(SchedulerFixtures.TestConfig(extra: ("steps_offset", "1")));
        scheduler.SetTimesteps(10);
        Assert.Equal(expected, scheduler.Timesteps);
        Assert.Equal(12, scheduler.PrkTimesteps.Length);
        Assert.Equal([601L, 501, 401, 301, 201, 101, 1], scheduler.PlmsTimesteps);
    }

    [Fact]
    public void Sd15TimestepsRepeatTheSecondForThePlmsWarmUp()
    {
        using var vectors = SchedulerFixtures.Vectors();
        var expected = SchedulerFixtures.Longs(vectors.RootElement.GetProperty("sd15_trajectories").GetProperty("pndm_sd15").GetProperty("timesteps"));
        using var scheduler = new PndmScheduler(SchedulerConfig.StableDiffusion15);
        Assert.Empty(scheduler.Timesteps);
        scheduler.SetTimesteps(50);
        Assert.Equal(51, expected.Length);
        Assert.Equal(expected, scheduler.Timesteps);
        Assert.Empty(scheduler.PrkTimesteps);
        Assert.Equal(1.0, scheduler.InitNoiseSigma);
    }

    [Theory]
    [InlineData(TimestepSpacing.Leading, new long[] { 900, 800, 800, 700, 600, 500, 400, 300, 200, 100, 0 })]
    [InlineData(TimestepSpacing.Trailing, new long[] { 999, 899, 899, 799, 699, 599, 499, 399, 299, 199, 99 })]
    [InlineData(TimestepSpacing.Linspace, new long[] { 999, 888, 888, 777, 666, 555, 444, 333, 222, 111, 0 })]
    public void PlmsTimestepsForEachSpacing(TimestepSpacing spacing, long[] expected)
    {
        using var scheduler = new PndmScheduler(new SchedulerConfig { SkipPrkSteps = true, TimestepSpacing = spacing });
        scheduler.SetTimesteps(10);
        Assert.Equal(expected, scheduler.Timesteps);
    }

    [Fact]
    public void OneStepGoesStraightToTheEnd()
    {
        // As numpy slicing gives it: no repeated timestep when there is only one.
        using var scheduler = new PndmScheduler(SchedulerConfig.StableDiffusion15);
        scheduler.SetTimesteps(1);
        Assert.Equal([1L], scheduler.Timesteps);
        using var x = SchedulerFixtures.DummySampleDeter();
        using var eps = zeros_like(x);
        using var prev = scheduler.Step(eps, 1, x);
        // Zero noise prediction: x_prev = sqrt(acp_final / acp_1) x, with acp_final = acp[0] (set_alpha_to_one false).
        var ratio = Math.Sqrt(scheduler.Schedule.AlphaCumprod(0) / scheduler.Schedule.AlphaCumprod(1));
        using var expected = x * ratio;
        Assert.True(SchedulerFixtures.MaxAbsDiff(prev, expected) < 1e-6);
    }

    [Theory]
    [InlineData("pndm.full_loop_no_noise")]
    [InlineData("pndm.full_loop_with_v_prediction")]
    [InlineData("pndm.full_loop_with_set_alpha_to_one")]
    [InlineData("pndm.full_loop_with_no_set_alpha_to_one")]
    public void PublishedFullLoops(string name)
    {
        using var vectors = SchedulerFixtures.Vectors();
        var entry = vectors.RootElement.GetProperty(name);
        using var scheduler = new PndmScheduler(SchedulerFixtures.TestConfig(entry.GetProperty("config_overrides")));
        scheduler.SetTimesteps(10);
        using var sample = Run(scheduler, SchedulerFixtures.DummySampleDeter());
        SchedulerFixtures.AssertFullLoop(name, entry, sample, output);
    }

    [Fact]
    public void Sd15TrajectoryMatchesDiffusers()
    {
        SchedulerFixtures.AssertSd15Trajectory("pndm", new PndmScheduler(SchedulerConfig.StableDiffusion15), output);
    }

    [Fact]
    public void SetTimestepsResetsTheHistory()
    {
        using var scheduler = new PndmScheduler(SchedulerConfig.StableDiffusion15);
        scheduler.SetTimesteps(20);
        using var first = Run(scheduler, SchedulerFixtures.DummySampleDeter());
        Assert.Equal(21, scheduler.Counter);
        scheduler.SetTimesteps(20);
        Assert.Equal(0, scheduler.Counter);
        using var second = Run(scheduler, SchedulerFixtures.DummySampleDeter());
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(first, second));
    }

    [Fact]
    public void HistorySurvivesTheCallersDisposeScopes()
    {
        using var scheduler = new PndmScheduler(SchedulerConfig.StableDiffusion15);
        scheduler.SetTimesteps(10);
        using var plain = Run(scheduler, SchedulerFixtures.DummySampleDeter());

        scheduler.SetTimesteps(10);
        var x = SchedulerFixtures.DummySampleDeter();
        foreach (var t in scheduler.Timesteps)
        {
            using var scope = NewDisposeScope();
            var next = scheduler.Step(SchedulerFixtures.DummyModel(x, t), t, x);
            x.Dispose();
            x = scope.MoveToOuter(next);
        }
        using (x)
            Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(plain, x));
    }

    [Fact]
    public void RejectsWhatDiffusersRejects()
    {
        Assert.Throws<NotSupportedException>(() => new PndmScheduler(SchedulerConfig.StableDiffusion15 with { PredictionType = PredictionType.Sample }));
        using var scheduler = new PndmScheduler(SchedulerConfig.StableDiffusion15);
        using var x = SchedulerFixtures.DummySampleDeter();
        Assert.Throws<InvalidOperationException>(() => scheduler.Step(x, 981, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.SetTimesteps(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.SetTimesteps(1001));
    }

    static Tensor Run(IInferenceScheduler scheduler, Tensor sample)
    {
        foreach (var t in scheduler.Timesteps)
        {
            using var eps = SchedulerFixtures.DummyModel(sample, t);
            var next = scheduler.Step(eps, t, sample);
            sample.Dispose();
            sample = next;
        }
        return sample;
    }
}
