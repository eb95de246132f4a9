namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// What a run's summary.json adds when its evaluation reports leave a field empty (older reports), and the best
/// validation step for `--split valid`. Every field is optional.
/// </summary>
public sealed record RunHints(
    string? Method = null,
    string? Dataset = null,
    long? Seed = null,
    long? BestStep = null,
    long? TrainableParameters = null,
    int? TotalRank = null);
