using SeLoRA.Cluster.Runs.Events;

namespace SeLoRA.Cluster.Runs;

// What the coordinator asks of a run entity. Each is answered, once its event is persisted, with that event, or with
// CommandRejected (nothing persisted). The entity stamps times, so the commands carry none.

/// <summary>Marker of the commands a run entity accepts.</summary>
public interface IRunCommand : IRunMessage;

/// <summary>Starts the run. <paramref name="ConfigHash"/> must be <c>TrainingConfig.FromJson(ConfigJson).Hash</c>.</summary>
public sealed record StartRun(
    string ConfigJson,
    string ConfigHash,
    string BaseModelHash,
    long TotalSteps,
    int Workers,
    IReadOnlyDictionary<string, int>? InitialRanks = null) : IRunCommand;

/// <summary>Steps FirstStep..LastStep, which must follow the last recorded step; one loss per step.</summary>
public sealed record RecordSteps(long FirstStep, long LastStep, double[] Losses, double LearningRate, int TotalRank, double WallSeconds)
    : IRunCommand;

public sealed record RecordExpansion(long Step, IReadOnlyList<LayerRankChange> Changes) : IRunCommand;

/// <param name="RunDirectory">The run folder on the machine that saved it (evaluators find the checkpoint there).</param>
public sealed record RecordCheckpoint(long Step, string CheckpointId, double? ValidationLoss, bool Best, string? RunDirectory = null) : IRunCommand;

public sealed record PauseRun(string Reason) : IRunCommand;

/// <summary>Resumes from the checkpoint at <paramref name="Step"/> (at most the last recorded step).</summary>
public sealed record ResumeRun(long Step) : IRunCommand;

public sealed record StopRun(string Reason) : IRunCommand;

public sealed record CompleteRun(long Step, double? FinalValidationLoss, int TotalRank, double WallSeconds) : IRunCommand;

public sealed record FailRun(string Reason) : IRunCommand;

/// <param name="Split">"valid" or "test".</param>
/// <param name="Final">The final test evaluation of the run's best checkpoint.</param>
public sealed record RecordEvaluation(long Step, IReadOnlyDictionary<string, double> Metrics, string Split = "valid", string? CheckpointId = null, bool Final = false) : IRunCommand;

/// <summary>Asks for <see cref="RunStatus"/>; never persisted.</summary>
public sealed record GetRunStatus : IRunMessage
{
    public static readonly GetRunStatus Instance = new();
}
