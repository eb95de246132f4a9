using SeLoRA.Diffusion.Schedulers;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

public class NoiseScheduleTests
{
    // scaled_linear, derived by hand: sqrt(beta_t) = sqrt(b0) + t / (N - 1) * (sqrt(b1) - sqrt(b0)); beta_t = its square.
    static double ScaledLinearBeta(int t, double b0 = 0.00085, double b1 = 0.012, int n = 1000)
    {
        var root = Math.Sqrt(b0) + (double)t / (n - 1) * (Math.Sqrt(b1) - Math.Sqrt(b0));
        return root * root;
    }

    static double ClosedFormAlphaCumprod(int t)
    {
        var product = 1.0;
        for (var s = 0; s <= t; s++) product *= 1 - ScaledLinearBeta(s);
        return product;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(499)]
    [InlineData(999)]
    public void Sd15BetasAndAlphaBarsMatchTheClosedForm(int t)
    {
        var schedule = NoiseSchedule.Create(SchedulerConfig.StableDiffusion15);
        Assert.Equal(1000, schedule.NumTrainTimesteps);
        // float32 storage: about 1e-7 relative on a beta, and a cumulative product of 1000 float32 factors.
        Assert.Equal(ScaledLinearBeta(t), schedule.Betas[t], ScaledLinearBeta(t) * 1e-6);
        Assert.Equal(1 - schedule.Betas[t], schedule.Alphas[t], 1e-7);
        var expected = ClosedFormAlphaCumprod(t);
        Assert.Equal(expected, schedule.AlphasCumprod[t], expected * 2e-6);
        Assert.Equal(expected, schedule.AlphaCumprod(t), expected * 2e-6);
        Assert.Equal(expected / (1 - expected), schedule.Snr(t), expected / (1 - expected) * 5e-5);
    }

    [Fact]
    public void Sd15EndsAreTheKnownValues()
    {
        var schedule = NoiseSchedule.Create(SchedulerConfig.StableDiffusion15);
        Assert.Equal(0.00085, schedule.Betas[0], 1e-10);
        Assert.Equal(0.012, schedule.Betas[999], 1e-9);
        Assert.Equal(0.99915, schedule.AlphasCumprod[0], 1e-7);
        Assert.Equal(0.0046601, schedule.AlphasCumprod[999], 1e-7);
    }

    [Fact]
    public void Sd15AlphaBarsMatchDiffusersFloat32Exactly()
    {
        var schedule = NoiseSchedule.Create(SchedulerConfig.StableDiffusion15);
        var tensors = Safetensors.LoadStateDict(SchedulerFixtures.TrajectoryPath("pndm"));
        try
        {
            var reference = tensors["alphas_cumprod"].data<float>().ToArray();
            Assert.Equal(1000, reference.Length);
            var worst = Enumerable.Range(0, 1000).Max(i => Math.Abs(reference[i] - schedule.AlphasCumprod[i]) / reference[i]);
            Assert.True(worst == 0, $"worst relative difference to diffusers' float32 alphas_cumprod: {worst:E3}");
            using var asTensor = schedule.AlphasCumprodTensor();
            Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(asTensor, tensors["alphas_cumprod"]), 1e-9);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void LinearAndCosineSchedules()
    {
        var linear = NoiseSchedule.Create(new SchedulerConfig());
        for (var t = 0; t < 1000; t += 111)
            Assert.Equal(0.0001 + t * (0.02 - 0.0001) / 999, linear.Betas[t], 1e-8);

        var cosine = NoiseSchedule.Create(new SchedulerConfig { BetaSchedule = BetaSchedule.SquaredcosCapV2 });
        static double AlphaBar(double s) => Math.Pow(Math.Cos((s + 0.008) / 1.008 * Math.PI / 2), 2);
        Assert.Equal(1 - AlphaBar(0.001) / AlphaBar(0), cosine.Betas[0], 1e-9);
        Assert.Equal(0.999, cosine.Betas[999], 1e-6);
        // The cumulative product telescopes to alpha_bar(t + 1) / alpha_bar(0) while no beta is capped.
        Assert.Equal(AlphaBar(0.5) / AlphaBar(0), cosine.AlphasCumprod[499], 1e-5);
    }

    [Fact]
    public void TrainedBetasAndZeroTerminalSnr()
    {
        var trained = Enumerable.Range(0, 10).Select(i => 0.01 * (i + 1)).ToArray();
        var schedule = NoiseSchedule.Create(new SchedulerConfig { NumTrainTimesteps = 10, TrainedBetas = trained });
        for (var i = 0; i < 10; i++) Assert.Equal(trained[i], schedule.Betas[i], 1e-8);

        var rescaled = NoiseSchedule.Create(SchedulerConfig.StableDiffusion15 with { RescaleBetasZeroSnr = true });
        var original = NoiseSchedule.Create(SchedulerConfig.StableDiffusion15);
        Assert.Equal(0.0, rescaled.AlphasCumprod[999], 1e-12);
        Assert.Equal(original.AlphasCumprod[0], rescaled.AlphasCumprod[0], 1e-6);
        Assert.True(rescaled.AlphasCumprod[500] < original.AlphasCumprod[500]);
    }

    [Fact]
    public void OutOfRangeTimestepsAreRejected()
    {
        var schedule = NoiseSchedule.Create(SchedulerConfig.StableDiffusion15);
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.AlphaCumprod(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.Snr(-1));
    }
}
