using System.Text.Json;
using SeLoRA.Diffusion.Schedulers;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

/// <summary>Runs the fixture's SD1.5 loop (x = step(x * t / (t + 1), t, x)) and compares every recorded point.</summary>
internal static class TrajectoryCheck
{
    /// <summary>Returns the worst element difference to the recorded tensors; per-step sums are asserted here.</summary>
    public static double Run(IInferenceScheduler scheduler, JsonElement steps, Dictionary<string, Tensor> reference, ITestOutputHelper output)
    {
        using (scheduler)
        {
            scheduler.SetTimesteps(50);
            var timesteps = scheduler.Timesteps;
            Assert.Equal(steps.GetArrayLength(), timesteps.Length);
            var x = SchedulerFixtures.DummySampleDeter();
            Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(x, reference["initial_sample"]));
            var worst = 0.0;
            var worstSum = 0.0;
            for (var i = 0; i < timesteps.Length; i++)
            {
                var t = timesteps[i];
                Assert.Equal(steps[i].GetProperty("t").GetInt64(), t);
                using (var eps = SchedulerFixtures.DummyModel(x, t))
                {
                    var next = scheduler.Step(eps, t, x);
                    x.Dispose();
                    x = next;
                }
                var sum = x.sum().to(ScalarType.Float64).item<double>();
                var sumDiff = Math.Abs(sum - steps[i].GetProperty("sum").GetDouble());
                worstSum = Math.Max(worstSum, sumDiff);
                Assert.True(sumDiff < 1e-4, $"step {i} (t={t}): sum {sum} vs {steps[i].GetProperty("sum").GetDouble()}");
                if (reference.TryGetValue($"after_step_{i}", out var expected))
                {
                    var diff = SchedulerFixtures.MaxAbsDiff(x, expected);
                    output.WriteLine($"after step {i} (t={t}): max |diff| {diff:E3}");
                    worst = Math.Max(worst, diff);
                }
            }
            var finalDiff = SchedulerFixtures.MaxAbsDiff(x, reference["final"]);
            output.WriteLine($"final: max |diff| {finalDiff:E3}; worst per-step sum difference {worstSum:E3}");
            x.Dispose();
            return Math.Max(worst, finalDiff);
        }
    }
}
