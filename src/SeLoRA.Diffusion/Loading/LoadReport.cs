namespace SeLoRA.Diffusion.Loading;

/// <summary>What a load did and what did not match. Lists are sorted by name.</summary>
public sealed record LoadReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> ShapeMismatches,
    IReadOnlyList<string> Ignored,
    IReadOnlyList<string> NotConverted)
{
    /// <summary>Nothing missing, unexpected or mismatched.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;
}
