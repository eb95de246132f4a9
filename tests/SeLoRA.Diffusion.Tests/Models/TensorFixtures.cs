using SeLoRA.Diffusion.Loading;
using System.Text.Json;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models;

/// <summary>Loading reference safetensors into modules and comparing tensors, for the model tests.</summary>
internal static class TensorFixtures
{
    public const string UnitBlocks = "fixtures/diffusers-unit-blocks";

    public static Dictionary<string, Tensor> Load(string relativePath)
    {
        TorchRuntime.EnsureLoaded();
        return TorchSharp.PyBridge.Safetensors.LoadStateDict(RepoPaths.RequireShared(relativePath));
    }

    public static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
    }

    /// <summary>
    /// Copies <paramref name="source"/> (keys with <paramref name="prefix"/> stripped) into the module through the
    /// project's strict loader, with no key remapping: the key sets must be equal (apart from
    /// <paramref name="ignoredSourceKeys"/>) and every shape must match.
    /// </summary>
    public static void LoadStrict(nn.Module module, Dictionary<string, Tensor> source, string prefix = "",
        params string[] ignoredSourceKeys)
    {
        var given = source.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && !ignoredSourceKeys.Contains(kv.Key[prefix.Length..]))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        StateDictLoader.Load(module, given, LoadOptions.Default with { KeyRemappers = [] });
    }

    public static double MaxAbsDiff(Tensor actual, Tensor expected)
    {
        Assert.True(actual.shape.SequenceEqual(expected.shape),
            $"shape [{string.Join(",", actual.shape)}] vs expected [{string.Join(",", expected.shape)}]");
        using var diff = (actual.to_type(ScalarType.Float64) - expected.to_type(ScalarType.Float64)).abs().max();
        return diff.item<double>();
    }

    public static void AssertClose(Tensor actual, Tensor expected, double atol, string what)
    {
        var max = MaxAbsDiff(actual, expected);
        Assert.True(max <= atol, $"{what}: max |diff| {max:E3} > {atol:E1}");
    }

    /// <summary>out[0, -1, -3:, -3:] flattened row by row, as the diffusers tests slice it.</summary>
    public static float[] PublishedSlice(Tensor output)
    {
        using var s = output[0, -1, TensorIndex.Slice(-3), TensorIndex.Slice(-3)].flatten().contiguous();
        return s.data<float>().ToArray();
    }

    public static JsonElement Manifest(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoPaths.RequireShared($"{UnitBlocks}/manifest.json")));
        return doc.RootElement.GetProperty(caseName).Clone();
    }
}
