using SeLoRA.Adapters.Reporting;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Training.Runs;

namespace SeLoRA.Cluster.Workers;

/// <summary>Load the base model, the run's data and adapters (from a checkpoint when given) into this worker's replica.</summary>
public sealed record PrepareReplica(string RunName, string ConfigJson, string RunDirectory, string LatentCacheRoot, string? CheckpointDirectory, long TotalSteps);

public sealed record ReplicaPrepared(string Worker, string Fingerprint);

// Tensor payloads: between actors of one process the float[] travels in the message (no copy, no serialisation); to or
// from another node the array is empty and the bytes go through the tensor data channel under the given transfer id.

/// <summary>Forward and backward of this worker's shard (dataset indices) of a step.</summary>
/// <param name="ReplyTransfer">When set, the gradients go back through the tensor channel under this id.</param>
public sealed record ComputeShard(long Step, int[] DatasetIndices, Guid? ReplyTransfer = null);

public sealed record ShardComputed(long Step, double Loss, float[] Gradients);

/// <summary>Apply the all-reduced gradient sum with this worker's optimizer.</summary>
/// <param name="Transfer">When set, the sum arrives through the tensor channel under this id (and <paramref name="Reduced"/> is empty).</param>
public sealed record ApplyReduced(long Step, float[] Reduced, Guid? Transfer = null);

public sealed record ReducedApplied(long Step, double[]? OriginalScores, SeLoraLayerState[]? Layers, RankChange[] Changes);

/// <summary>SeLoRA's trial pass over the shard kept from <see cref="ComputeShard"/>.</summary>
/// <param name="DatasetIndices">Another (lost) worker's shard to run the trial on instead; null: this worker's own.</param>
public sealed record ComputeTrial(long Step, Guid? ReplyTransfer = null, int[]? DatasetIndices = null);

public sealed record TrialComputed(long Step, float[] Trial);

/// <summary>Apply the coordinator's expansion decisions (seeded growth, the same on every replica).</summary>
public sealed record ApplyDecisions(long Step, ExpansionDecision[] Decisions);

public sealed record DecisionsApplied(long Step, RankChange[] Changes);

/// <summary>A whole step on this worker alone (the only replica of a run): no gradient buffers leave the device.</summary>
public sealed record RunWholeStep(long Step, int[] DatasetIndices);

public sealed record WholeStepRan(long Step, double Loss, ExpansionDecision[]? Decisions, RankChange[] Changes);

public sealed record GetFingerprint;

public sealed record FingerprintReported(string Worker, string Fingerprint);

public sealed record GetFingerprintDetails;

public sealed record FingerprintDetailsReported(string[] Entries);

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
