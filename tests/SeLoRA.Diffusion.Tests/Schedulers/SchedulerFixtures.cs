using System.Text.Json;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

/// <summary>The shared scheduler-vectors fixture and diffusers' deterministic test inputs.</summary>
internal static class SchedulerFixtures
{
    const string Folder = "fixtures/scheduler-vectors";

    /// <summary>scheduler_vectors.json, parsed (skips the test when the shared data is absent).</summary>
    public static JsonDocument Vectors() =>
        JsonDocument.Parse(File.ReadAllText(RepoPaths.RequireShared($"{Folder}/scheduler_vectors.json")));

    public static string TrajectoryPath(string name) => RepoPaths.RequireShared($"{Folder}/scheduler_{name}_sd15_trajectory.safetensors");

    /// <summary>The config diffusers' scheduler tests start from, with JSON overrides applied.</summary>
    public static SchedulerConfig TestConfig(JsonElement? overrides = null, params (string Key, string Json)[] extra)
    {
        var fields = new Dictionary<string, string>
        {
            ["num_train_timesteps"] = "1000",
            ["beta_start"] = "0.0001",
            ["beta_end"] = "0.02",
            ["beta_schedule"] = "\"linear\"",
        };
        foreach (var (key, json) in extra) fields[key] = json;
        if (overrides is { } o)
            foreach (var p in o.EnumerateObject()) fields[p.Name] = p.Value.GetRawText();
        var text = "{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";
        return SchedulerConfig.FromJsonText(text, "test config");
    }

    /// <summary>diffusers' dummy_sample_deter: arange(768).reshape(3, 8, 8, 4) / 768, permuted to [4, 3, 8, 8].</summary>
    public static Tensor DummySampleDeter()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var sample = (arange(768, ScalarType.Int64).reshape(3, 8, 8, 4) / 768).permute(3, 0, 1, 2);
        return scope.MoveToOuter(sample);
    }

    /// <summary>diffusers' dummy model: eps = sample * t / (t + 1).</summary>
    public static Tensor DummyModel(Tensor sample, long t)
    {
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(sample * t / (t + 1));
    }

    public static double AbsSum(Tensor t) => t.abs().sum().to(ScalarType.Float64).item<double>();

    public static double AbsMean(Tensor t) => t.abs().mean().to(ScalarType.Float64).item<double>();

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>A full loop's |x| sum and mean against the published values (upstream tolerances) and the diffusers re-run (tight).</summary>
    public static void AssertFullLoop(string name, JsonElement entry, Tensor sample, ITestOutputHelper output)
    {
        var sum = AbsSum(sample);
        var mean = AbsMean(sample);
        output.WriteLine($"{name}: sum {sum:F6} (diffusers {entry.GetProperty("computed_abs_sum").GetDouble():F6}), mean {mean:F6}");
        Assert.True(Math.Abs(sum - entry.GetProperty("published_abs_sum").GetDouble()) < 1e-2, $"sum {sum}");
        Assert.True(Math.Abs(mean - entry.GetProperty("published_abs_mean").GetDouble()) < 1e-3, $"mean {mean}");
        Assert.True(Math.Abs(sum - entry.GetProperty("computed_abs_sum").GetDouble()) < 1e-4, $"sum {sum}");
        Assert.True(Math.Abs(mean - entry.GetProperty("computed_abs_mean").GetDouble()) < 1e-6, $"mean {mean}");
    }

    /// <summary>The 50-step SD1.5 trajectory of <paramref name="name"/> (pndm or ddim) within 1e-6 of diffusers'.</summary>
    public static void AssertSd15Trajectory(string name, IInferenceScheduler scheduler, ITestOutputHelper output)
    {
        using var vectors = Vectors();
        var steps = vectors.RootElement.GetProperty("sd15_trajectories").GetProperty($"{name}_sd15").GetProperty("steps");
        var reference = TorchSharp.PyBridge.Safetensors.LoadStateDict(TrajectoryPath(name));
        try
        {
            var worst = TrajectoryCheck.Run(scheduler, steps, reference, output);
            Assert.True(worst < 1e-6, $"worst element difference {worst:E3}");
        }
        finally
        {
            foreach (var t in reference.Values) t.Dispose();
        }
    }
}
