using SeLoRA.Adapters.SeLora;
using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Engine;

/// <summary>
/// One replica as a data-parallel step sees it: the four phases of <see cref="TrainingReplica"/>'s distributed step, possibly
/// in another thread, process or machine.
/// </summary>
public interface IShardWorker
{
    /// <summary>Names the worker in errors (e.g. its actor path).</summary>
    string Name { get; }

    Task<ShardGradients> ComputeShardAsync(IReadOnlyList<int> datasetIndices, long step, CancellationToken cancellation);

    Task<AppliedGradients> ApplyReducedAsync(float[] reducedGradients, long step, CancellationToken cancellation);

    /// <summary>The trial pass over the worker's own shard, or over <paramref name="datasetIndices"/> (another worker's shard) when given.</summary>
    Task<float[]> ComputeTrialAsync(long step, IReadOnlyList<int>? datasetIndices, CancellationToken cancellation);

    Task<IReadOnlyList<RankChange>> ApplyDecisionsAsync(IReadOnlyList<ExpansionDecision> decisions, long step, CancellationToken cancellation);

    /// <summary>SHA-256 over adapters and optimizer state (<see cref="TrainingReplica.Fingerprint"/>).</summary>
    Task<string> FingerprintAsync(CancellationToken cancellation);

    /// <summary>Per-tensor fingerprints (<see cref="TrainingReplica.FingerprintDetails"/>), to name what differs.</summary>
    Task<IReadOnlyList<string>> FingerprintDetailsAsync(CancellationToken cancellation);
}

/// <summary>A shard's loss share and flat gradient buffer.</summary>
public sealed record ShardGradients(double Loss, float[] Gradients);

/// <summary>After the reduced gradients were applied: FI_orig on a SeLoRA test step (with the layers' states), and rank changes (AdaLoRA).</summary>
public sealed record AppliedGradients(double[]? OriginalScores, IReadOnlyList<SeLoraLayerState>? Layers, IReadOnlyList<RankChange> Changes);
