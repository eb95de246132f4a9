using SeLoRA.Adapters.Reporting;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Training.Runs;

namespace SeLoRA.Cluster.Workers;

/// <summary>Load the base model, the run's data and adapters (from a checkpoint when given) into this worker's replica.</summary>
public sealed record PrepareReplica(string RunName, string ConfigJson, string RunDirectory, string LatentCacheRoot, string? CheckpointDirectory, long TotalSteps);

public sealed record ReplicaPrepared(string Worker, string Fingerprint);

/// <summary>Forward and backward of this worker's shard (dataset indices) of a step.</summary>
public sealed record ComputeShard(long Step, int[] DatasetIndices);

public sealed record ShardComputed(long Step, double Loss, float[] Gradients);

/// <summary>Apply the all-reduced gradient sum with this worker's optimizer.</summary>
public sealed record ApplyReduced(long Step, float[] Reduced);

public sealed record ReducedApplied(long Step, double[]? OriginalScores, SeLoraLayerState[]? Layers, RankChange[] Changes);

/// <summary>SeLoRA's trial pass over the shard kept from <see cref="ComputeShard"/>.</summary>
public sealed record ComputeTrial(long Step);

public sealed record TrialComputed(long Step, float[] Trial);

/// <summary>Apply the coordinator's expansion decisions (seeded growth, the same on every replica).</summary>
public sealed record ApplyDecisions(long Step, ExpansionDecision[] Decisions);

public sealed record DecisionsApplied(long Step, RankChange[] Changes);

public sealed record GetFingerprint;

public sealed record FingerprintReported(string Worker, string Fingerprint);

public sealed record ValidateReplica;

public sealed record ReplicaValidated(double Loss);

/// <summary>Write the checkpoint tensors into a folder this worker can reach.</summary>
public sealed record WriteCheckpointFiles(string Directory);

public sealed record CheckpointFilesWritten(string Directory);

public sealed record GetLayers;

public sealed record LayersReported(AdaptedLayerInfo[] Layers, Dictionary<string, int> Ranks);

/// <summary>Free the replica's model (a paused run holds no memory).</summary>
public sealed record ReleaseReplica;

public sealed record ReplicaReleased(string Worker);

/// <summary>A command the worker could not carry out; the message names the worker and the cause.</summary>
public sealed record WorkerFailed(string Worker, string Reason);
