using Akka.Actor;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Coordination;

/// <summary>A device worker offering itself for training (sent by the worker's node when it starts or joins).</summary>
public sealed record RegisterWorker(IActorRef Worker, string Device);

public sealed record WorkerRegistered(string Worker, int Workers);

/// <summary>Start (or, with <paramref name="Resume"/>, continue) a run with the registered workers.</summary>
public sealed record StartTraining(string ConfigJson, string RunsRoot, string? RunDirectory = null, string? Resume = null,
    bool ConfigFromRun = false, long? StopAfterStep = null, string? ConfigHocon = null);

public sealed record TrainingStarted(string RunName, int Workers);

/// <summary>Finish the current step, checkpoint, stop and free the workers' models; the run can be resumed.</summary>
public sealed record PauseTraining;

/// <summary>Continue the paused run from its latest checkpoint, bit-identically.</summary>
public sealed record ResumeTraining;

/// <summary>End the run cleanly after the current step; its checkpoints and results stay.</summary>
public sealed record StopTraining;

/// <summary>Receive every <see cref="TrainingEvent"/> of the runs this coordinator trains.</summary>
public sealed record SubscribeTraining(IActorRef Subscriber);

/// <summary>A run's event, as the engine reported it.</summary>
public sealed record TrainingEventOccurred(TrainingEvent Event);

/// <summary>The run's session ended: completed, paused or stopped (<see cref="Result"/>), or failed (<see cref="Error"/>).</summary>
public sealed record TrainingFinished(string RunName, RunResult? Result, string? Error, bool Stopped);

public sealed record GetTrainingStatus;

public sealed record TrainingStatus(string? RunName, string State, long Step, int Workers, string? RunDirectory, string? Error);

/// <summary>A command the coordinator refused in its current state; the reason says why.</summary>
public sealed record TrainingCommandRejected(string Reason);

/// <summary>Every run the cluster has recorded, with its status (needs persistence).</summary>
public sealed record ListRuns;

public sealed record RunsListed(SeLoRA.Cluster.Runs.RunState[] Runs);

/// <summary>One recorded run's state (null when no such run was recorded).</summary>
public sealed record GetRunDetails(string Name);

public sealed record RunDetails(string Name, SeLoRA.Cluster.Runs.RunState? State);
