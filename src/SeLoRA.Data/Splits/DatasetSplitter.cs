using SeLoRA.Torch.Randomness;
using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Splits;

/// <summary>
/// Deterministic splits. The examples are first sorted by id (ordinal), so the result depends only on the set of ids
/// and the seed, not on file order; then shuffled by Fisher-Yates driven by SplitMix64 seeded with the seed (a fixed
/// generator, so the split is the same on every .NET version and machine); then cut into consecutive parts.
/// Part sizes use the largest-remainder rule: part i gets floor(n * f_i); the n - sum(floor) examples left over go one
/// each to the parts with the largest fractional remainders n * f_i - floor(n * f_i), ties to the earlier part.
/// Sizes therefore sum to n exactly and each is within 1 of n * f_i.
/// </summary>
public static class DatasetSplitter
{
    /// <summary>The paper's IU X-Ray split: 80/16/4 train/valid/test.</summary>
    public static readonly IReadOnlyList<SplitFraction> PaperIuXray =
        [new("train", 0.80), new("valid", 0.16), new("test", 0.04)];

    /// <summary>The paper's seed.</summary>
    public const int PaperSeed = 42;

    /// <summary>Montgomery: train/test, 80/20 by default.</summary>
    public static IReadOnlyList<SplitFraction> TrainTest(double trainFraction = 0.8)
    {
        if (trainFraction is <= 0 or >= 1 || double.IsNaN(trainFraction))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, "train fraction must be in (0, 1).");
        return [new("train", trainFraction), new("test", 1 - trainFraction)];
    }

    public static DatasetSplit PaperIuXraySplit(IReadOnlyList<TextImageExample> examples, int seed = PaperSeed) =>
        Split(examples, PaperIuXray, seed);

    public static DatasetSplit MontgomerySplit(IReadOnlyList<TextImageExample> examples, double trainFraction = 0.8, int seed = PaperSeed) =>
        Split(examples, TrainTest(trainFraction), seed);

    /// <summary>Part sizes for n examples by the largest-remainder rule (see the class remarks).</summary>
    public static int[] Counts(int n, IReadOnlyList<SplitFraction> fractions)
    {
        Validate(fractions);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var exact = fractions.Select(f => n * f.Fraction).ToArray();
        // The tolerance keeps 100 * 0.16 = 16.000000000000004 or 15.999999999999998 from flipping a floor.
        var counts = exact.Select(e => (int)Math.Floor(e + 1e-9)).ToArray();
        var left = n - counts.Sum();
        var order = Enumerable.Range(0, counts.Length)
            .OrderByDescending(i => Math.Round(exact[i] - counts[i], 9)).ThenBy(i => i).ToArray();
        for (var k = 0; k < left; k++) counts[order[k % order.Length]]++;
        return counts;
    }

    public static DatasetSplit Split(IReadOnlyList<TextImageExample> examples, IReadOnlyList<SplitFraction> fractions, int seed)
    {
        var counts = Counts(examples.Count, fractions);
        var sorted = examples.OrderBy(e => e.Id, StringComparer.Ordinal).ToArray();
        for (var i = 1; i < sorted.Length; i++)
            if (sorted[i].Id == sorted[i - 1].Id) throw new ArgumentException($"duplicate example id '{sorted[i].Id}'.", nameof(examples));
        var random = new SplitMix64((ulong)(long)seed);
        for (var i = sorted.Length - 1; i > 0; i--)
        {
            var j = (int)random.MultiplyShift((ulong)(i + 1));
            (sorted[i], sorted[j]) = (sorted[j], sorted[i]);
        }
        var parts = new Dictionary<string, IReadOnlyList<TextImageExample>>(StringComparer.Ordinal);
        var start = 0;
        for (var p = 0; p < fractions.Count; p++)
        {
            parts[fractions[p].Name] = sorted[start..(start + counts[p])];
            start += counts[p];
        }
        return new DatasetSplit(fractions.Select(f => f.Name).ToArray(), parts, seed, fractions.ToArray());
    }

    /// <summary>A split the dataset already carries in a label (R2Gen's "split": train/val/test), in first-seen order.</summary>
    public static DatasetSplit FromLabel(IReadOnlyList<TextImageExample> examples, string label = "split")
    {
        var groups = new Dictionary<string, List<TextImageExample>>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var example in examples)
        {
            if (!example.Labels.TryGetValue(label, out var name))
                throw new ArgumentException($"example '{example.Id}' has no '{label}' label.", nameof(examples));
            if (!groups.TryGetValue(name, out var list)) { groups[name] = list = []; names.Add(name); }
            list.Add(example);
        }
        var total = Math.Max(1, examples.Count);
        return new DatasetSplit(
            names,
            groups.ToDictionary(g => g.Key, g => (IReadOnlyList<TextImageExample>)g.Value, StringComparer.Ordinal),
            null,
            names.Select(n => new SplitFraction(n, groups[n].Count / (double)total)).ToArray());
    }

    private static void Validate(IReadOnlyList<SplitFraction> fractions)
    {
        if (fractions.Count == 0) throw new ArgumentException("at least one split fraction is needed.", nameof(fractions));
        foreach (var f in fractions)
            if (!(f.Fraction >= 0 && f.Fraction <= 1) || string.IsNullOrWhiteSpace(f.Name))
                throw new ArgumentException($"split '{f.Name}': fraction {f.Fraction} must be in [0, 1] with a name.", nameof(fractions));
        if (fractions.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count() != fractions.Count)
            throw new ArgumentException("split names must be distinct.", nameof(fractions));
        var sum = fractions.Sum(f => f.Fraction);
        if (Math.Abs(sum - 1) > 1e-9)
            throw new ArgumentException($"split fractions must sum to 1, got {sum} ({string.Join(", ", fractions.Select(f => $"{f.Name} {f.Fraction}"))}).", nameof(fractions));
    }
}
