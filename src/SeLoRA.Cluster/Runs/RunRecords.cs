namespace SeLoRA.Cluster.Runs;

// Small value records that RunState holds (stored inside snapshots).

/// <summary>The training loss of one step.</summary>
public sealed record StepLoss(long Step, double Loss);

/// <summary>A checkpoint the run saved.</summary>
public sealed record CheckpointRecord(long Step, string CheckpointId, double? ValidationLoss, bool Best, DateTimeOffset SavedUtc, string? RunDirectory = null);

/// <summary>Metrics measured at a step.</summary>
public sealed record EvaluationRecord(long Step, IReadOnlyDictionary<string, double> Metrics, string Split = "valid", string? CheckpointId = null, bool Final = false);
