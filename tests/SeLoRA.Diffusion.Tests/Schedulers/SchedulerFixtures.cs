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
}
