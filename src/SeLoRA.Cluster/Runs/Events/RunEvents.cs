namespace SeLoRA.Cluster.Runs.Events;

// A run's journal: what happened, in the past tense. These records are stored (RunMessageSerializer, System.Text.Json,
// manifest = type name), so renaming a type or a parameter changes what old journals can be read as: add, do not rename.

/// <summary>Marker of every event in a run's journal.</summary>
public interface IRunEvent : IRunMessage
{
    /// <summary>The optimizer step the event belongs to (0 before the first step).</summary>
    long Step { get; }
}

/// <summary>The run was set up. <paramref name="InitialRanks"/>: component-qualified layer name to rank at step 0 (may be empty).</summary>
public sealed record RunStarted(
    string Name,
    string ConfigJson,
    string ConfigHash,
    string BaseModelHash,
    long TotalSteps,
    int Workers,
    DateTimeOffset StartedUtc,
    IReadOnlyDictionary<string, int>? InitialRanks = null) : IRunEvent
{
    public long Step => 0;
}

/// <summary>A batch of optimizer steps FirstStep..LastStep, one loss per step; WallSeconds is the batch's training time.</summary>
public sealed record StepsCompleted(
    long FirstStep,
    long LastStep,
    double[] Losses,
    double LearningRate,
    int TotalRank,
    double WallSeconds) : IRunEvent
{
    public long Step => LastStep;
}

/// <summary>One layer's rank change.</summary>
public sealed record LayerRankChange(string Layer, int OldRank, int NewRank);

/// <summary>Layers whose rank changed after <paramref name="Step"/> (SeLoRA expansions, AdaLoRA masks).</summary>
public sealed record RanksExpanded(long Step, IReadOnlyList<LayerRankChange> Changes) : IRunEvent;

/// <summary>A checkpoint was written; <paramref name="CheckpointId"/> names it in the checkpoint blob store.</summary>
public sealed record CheckpointSaved(long Step, string CheckpointId, double? ValidationLoss, bool Best, DateTimeOffset SavedUtc, string? RunDirectory = null) : IRunEvent;

public sealed record RunPaused(long Step, string Reason) : IRunEvent;

/// <summary>Training continues from the checkpoint at <paramref name="Step"/>; later steps recorded before are trained again.</summary>
public sealed record RunResumed(long Step) : IRunEvent;

/// <summary>Metrics measured on the model at <paramref name="Step"/> (validation loss, FID, CLIP score, ...).</summary>
public sealed record EvaluationCompleted(long Step, IReadOnlyDictionary<string, double> Metrics, string Split = "valid", string? CheckpointId = null, bool Final = false) : IRunEvent;

/// <summary>The run trained its last step.</summary>
public sealed record RunCompleted(
    long Step,
    double? FinalValidationLoss,
    int TotalRank,
    double WallSeconds,
    DateTimeOffset CompletedUtc) : IRunEvent;

/// <summary>The run was stopped on request before its last step; it cannot be resumed.</summary>
public sealed record RunStopped(long Step, string Reason) : IRunEvent;

public sealed record RunFailed(long Step, string Reason) : IRunEvent;
