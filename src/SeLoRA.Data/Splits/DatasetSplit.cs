using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Splits;

/// <summary>Named, disjoint parts of a dataset in the order the fractions were given. Seed is null for a given split (R2Gen).</summary>
public sealed record DatasetSplit(
    IReadOnlyList<string> Names,
    IReadOnlyDictionary<string, IReadOnlyList<TextImageExample>> Parts,
    int? Seed,
    IReadOnlyList<SplitFraction> Fractions)
{
    public IReadOnlyList<TextImageExample> this[string name] =>
        Parts.TryGetValue(name, out var part)
            ? part
            : throw new KeyNotFoundException($"no split named '{name}'; this split has: {string.Join(", ", Names)}.");

    /// <summary>The manifest that reproduces this split for <paramref name="datasetSpec"/>.</summary>
    public SplitManifest ToManifest(string datasetSpec) =>
        new(datasetSpec, Seed, Fractions,
            SplitManifest.HashOf(Parts.Values.SelectMany(p => p)),
            Parts.Values.Sum(p => p.Count),
            Names.ToDictionary(n => n, n => (IReadOnlyList<string>)Parts[n].Select(e => e.Id).ToArray(), StringComparer.Ordinal));
}
