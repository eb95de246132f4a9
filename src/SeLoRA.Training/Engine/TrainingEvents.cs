using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Engine;

/// <summary>What a run reports while it trains (to the terminal, and later to the cluster's event journal).</summary>
public abstract record TrainingEvent;

/// <summary>The run is set up and about to train from <paramref name="StartStep"/>.</summary>
public sealed record RunStarted(string RunName, string RunDirectory, long StartStep, long TotalSteps, int StepsPerEpoch,
    int TrainCount, int ValidCount, int TestCount, int TotalRank, long TrainableParameters, bool Resumed,
    string ConfigJson = "", string ConfigHash = "", string BaseModelHash = "", IReadOnlyDictionary<string, int>? Ranks = null) : TrainingEvent;

public sealed record StepCompleted(StepMetric Metric, long TotalSteps) : TrainingEvent;

/// <summary>Layers whose rank changed at a step (SeLoRA expansions, AdaLoRA masks).</summary>
public sealed record RanksExpanded(long Step, IReadOnlyList<RankChange> Changes, int TotalRank) : TrainingEvent;

public sealed record ValidationCompleted(ValidationMetric Metric) : TrainingEvent;

public sealed record CheckpointSaved(long Step, string Directory, bool Best) : TrainingEvent;

/// <summary>A preparation or finishing stage worth a log line (data, latents, generation, plots).</summary>
public sealed record RunProgressed(string Message) : TrainingEvent;

/// <summary>The run stopped: completed, or paused at a step (stop-after or cancellation) with a checkpoint to resume from.</summary>
public sealed record RunStopped(long Step, bool Completed, RunSummary Summary) : TrainingEvent;
