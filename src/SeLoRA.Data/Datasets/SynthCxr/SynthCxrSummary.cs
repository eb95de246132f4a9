namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>What <see cref="SynthCxrGenerator.Generate"/> wrote: image count and how many images carry each finding
/// (keys: normal, cardiomegaly, effusion, nodule, mass, pneumothorax, device).</summary>
public sealed record SynthCxrSummary(
    string OutputDirectory,
    int Count,
    int Size,
    long Seed,
    IReadOnlyDictionary<string, int> FindingCounts,
    TimeSpan Elapsed);
