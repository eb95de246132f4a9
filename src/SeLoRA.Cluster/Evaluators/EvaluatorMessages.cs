using Akka.Actor;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>An evaluator offers itself to the coordinator (repeatedly: offering twice is harmless).</summary>
public sealed record RegisterEvaluator(IActorRef Evaluator);

public sealed record EvaluatorRegistered(string Path, int Evaluators);

/// <summary>Evaluate a saved checkpoint of a run on <paramref name="Split"/> (sent when its CheckpointSaved is persisted).</summary>
public sealed record EvaluateCheckpoint(string RunName, string RunDirectory, long Step, string CheckpointId, string Split = "valid");

/// <summary>Pick the completed run's best checkpoint by selora.eval.best-by and evaluate it on the test split.</summary>
public sealed record EvaluateFinal(string RunName, string RunDirectory);

/// <summary>An evaluation finished; the coordinator records it as EvaluationCompleted.</summary>
public sealed record CheckpointEvaluated(string RunName, long Step, string CheckpointId, string Split, bool Final,
    IReadOnlyDictionary<string, double> Metrics, string ReportPath);

/// <summary>An evaluation could not be done (the reason names the file or setting).</summary>
public sealed record CheckpointEvaluationFailed(string RunName, long Step, string Split, bool Final, string Reason);

public sealed record GetEvaluatorStatus
{
    public static GetEvaluatorStatus Instance { get; } = new();
}

/// <summary>What an evaluator is doing; <paramref name="Running"/> and <paramref name="Queued"/> as "run@step/split".</summary>
public sealed record EvaluatorStatus(IReadOnlyList<string> Running, IReadOnlyList<string> Queued, int Completed, int Skipped, int Failed)
{
    public bool Idle => Running.Count == 0 && Queued.Count == 0;
}

/// <summary>Answered with <see cref="EvaluatorStatus"/> once nothing is queued or running.</summary>
public sealed record WhenEvaluatorIdle
{
    public static WhenEvaluatorIdle Instance { get; } = new();
}
