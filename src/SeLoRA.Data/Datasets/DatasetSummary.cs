using System.Globalization;
using System.Text;

namespace SeLoRA.Data.Datasets;

/// <summary>Counts, skipped rows by category, label value counts and prompt lengths (words split on whitespace, characters).</summary>
public sealed record DatasetSummary(
    string Spec,
    int ExampleCount,
    int SkippedCount,
    IReadOnlyDictionary<string, int> SkippedByCategory,
    IReadOnlyList<SkippedItem> Skipped,
    IReadOnlyDictionary<string, int> Excluded,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> LabelCounts,
    LengthStatistics PromptWords,
    LengthStatistics PromptCharacters)
{
    /// <summary>Labels with more distinct values than this (ids, ages) are left out of <see cref="LabelCounts"/>.</summary>
    public const int MaxLabelValues = 12;

    /// <summary>How many skipped items <see cref="ToText"/> lists one by one.</summary>
    public const int ListedSkips = 20;

    public static DatasetSummary From(TextImageDataset dataset)
    {
        var byCategory = dataset.Skipped.GroupBy(s => s.Category, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var labels = new SortedDictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var key in dataset.Examples.SelectMany(e => e.Labels.Keys).Distinct(StringComparer.Ordinal))
        {
            var counts = dataset.Examples.Where(e => e.Labels.ContainsKey(key))
                .GroupBy(e => e.Labels[key], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            if (counts.Count <= MaxLabelValues) labels[key] = new SortedDictionary<string, int>(counts, StringComparer.Ordinal);
        }
        return new DatasetSummary(
            dataset.Spec,
            dataset.Examples.Count,
            dataset.Skipped.Count,
            byCategory,
            dataset.Skipped,
            dataset.Excluded,
            labels,
            LengthStatistics.From(dataset.Examples.Select(e => CountWords(e.Prompt))),
            LengthStatistics.From(dataset.Examples.Select(e => e.Prompt.Length)));
    }

    public static int CountWords(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"dataset   {Spec}");
        text.AppendLine(CultureInfo.InvariantCulture, $"examples  {ExampleCount}");
        text.AppendLine(CultureInfo.InvariantCulture, $"skipped   {SkippedCount}");
        foreach (var (category, count) in SkippedByCategory)
            text.AppendLine(CultureInfo.InvariantCulture, $"  {category}: {count}");
        foreach (var (reason, count) in Excluded)
            text.AppendLine(CultureInfo.InvariantCulture, $"excluded  {count} ({reason})");
        foreach (var (label, counts) in LabelCounts)
            text.AppendLine(CultureInfo.InvariantCulture,
                $"label {label}: {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"prompt words       {PromptWords}");
        text.AppendLine(CultureInfo.InvariantCulture, $"prompt characters  {PromptCharacters}");
        if (Skipped.Count > 0)
        {
            text.AppendLine("skipped items:");
            foreach (var item in Skipped.Take(ListedSkips)) text.AppendLine(CultureInfo.InvariantCulture, $"  {item}");
            if (Skipped.Count > ListedSkips)
                text.AppendLine(CultureInfo.InvariantCulture, $"  ... and {Skipped.Count - ListedSkips} more");
        }
        return text.ToString();
    }
}
