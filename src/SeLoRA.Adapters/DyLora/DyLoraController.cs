using SeLoRA.Adapters.Core;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.DyLora;

/// <summary>
/// Draws DyLoRA's rank b once per training step and gives it to every layer, so all layers (and all replicas) use the
/// same b in a step. Call <see cref="BeginStep"/> before the forward of each step.
/// </summary>
/// <remarks>
/// b for step s is <c>randint(min, max + 1)</c> on a CPU generator seeded with
/// <see cref="DrawSeed.For"/>(run seed, stream, s + 1): stream is <see cref="SharedStream"/> for the shared b, or the layer
/// index with <see cref="DyLoraConfig.PerLayerRanks"/>. Draw count s + 1 keeps draw 0 for the initial A of a layer.
/// The draw depends on the step only, so a resumed run continues the same sequence with no saved state.
/// </remarks>
public sealed class DyLoraController
{
    /// <summary>The stream of the shared b: a layer index no model reaches, so it never repeats a layer's own draws.</summary>
    public const int SharedStream = int.MaxValue;

    readonly List<DyLoraLinear> layers;

    public DyLoraController(IEnumerable<DyLoraLinear> layers, DyLoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.layers = layers.OrderBy(l => l.LayerIndex).ToList();
        var duplicate = this.layers.GroupBy(l => l.LayerIndex).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Layer index {duplicate.Key} is used by {string.Join(", ", duplicate.Select(l => l.Name))}; indices seed the draws and must be unique.", nameof(layers));
        var mismatch = this.layers.FirstOrDefault(l => l.MaxRank != config.MaxRank);
        if (mismatch is not null)
            throw new ArgumentException($"Layer '{mismatch.Name}' has r_max {mismatch.MaxRank}, the controller's config {config.MaxRank}.", nameof(layers));
        Config = config;
    }

    public DyLoraConfig Config { get; }

    /// <summary>The layers, ordered by layer index (the order of <see cref="BeginStep"/>'s result).</summary>
    public IReadOnlyList<DyLoraLinear> Layers => layers;

    /// <summary>The shared b of <paramref name="step"/> (what <see cref="BeginStep"/> gives every layer unless ranks are per layer).</summary>
    public int SharedRank(long step) => DrawRank(Config.Seed, SharedStream, step, Config.MinRank, Config.MaxRank);

    /// <summary>Sets every layer's <see cref="DyLoraLinear.TrainingRank"/> for <paramref name="step"/>; returns the ranks in layer order.</summary>
    public IReadOnlyList<int> BeginStep(long step)
    {
        if (Config.PerLayerRanks) return layers.Select(l => l.SampleRank(step)).ToArray();
        var b = SharedRank(step);
        foreach (var layer in layers) layer.TrainingRank = b;
        return Enumerable.Repeat(b, layers.Count).ToArray();
    }

    /// <summary>Evaluates every layer at <paramref name="rank"/> (in eval mode).</summary>
    public void SetInferenceRank(int rank)
    {
        foreach (var layer in layers) layer.InferenceRank = rank;
    }

    /// <summary>b ~ U{min..max} for (seed, stream, step), as described on the class.</summary>
    public static int DrawRank(ulong seed, int stream, long step, int minRank, int maxRank)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0");
        if (minRank < 1 || maxRank < minRank)
            throw new ArgumentOutOfRangeException(nameof(minRank), minRank, $"need 1 <= min rank <= max rank ({maxRank})");
        using var generator = DrawSeed.Generator(seed, stream, step + 1);
        using var draw = randint(minRank, maxRank + 1L, new long[] { 1 }, dtype: ScalarType.Int64, generator: generator);
        return (int)draw.item<long>();
    }
}
