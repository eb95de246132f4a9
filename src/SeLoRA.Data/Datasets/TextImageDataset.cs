namespace SeLoRA.Data.Datasets;

/// <summary>
/// What a reader returns: the usable examples, in file order; what it skipped because of a problem; and what it left
/// out by design (<see cref="Excluded"/>: e.g. lateral views), counted by reason.
/// </summary>
public sealed record TextImageDataset(string Spec, IReadOnlyList<TextImageExample> Examples, IReadOnlyList<SkippedItem> Skipped)
{
    public IReadOnlyDictionary<string, int> Excluded { get; init; } = new Dictionary<string, int>();

    public DatasetSummary Summarize() => DatasetSummary.From(this);

    public TextImageDataset WithExcluded(string reason, int count)
    {
        if (count == 0) return this;
        var excluded = new Dictionary<string, int>(Excluded, StringComparer.Ordinal);
        excluded[reason] = excluded.GetValueOrDefault(reason) + count;
        return this with { Excluded = excluded };
    }
}
