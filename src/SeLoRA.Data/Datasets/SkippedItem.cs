namespace SeLoRA.Data.Datasets;

/// <summary>
/// An input row or file that was left out: where it came from (file, 1-based line; 0 = the whole file), a short
/// category for counting ("no text", "image missing", ...) and the detail.
/// </summary>
public sealed record SkippedItem(string File, int Line, string Category, string Detail)
{
    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}: {Category}: {Detail}" : $"{File}: {Category}: {Detail}";
}
