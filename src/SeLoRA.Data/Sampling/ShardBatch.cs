namespace SeLoRA.Data.Sampling;

/// <summary>One worker's part of one global batch.</summary>
/// <param name="Position">The global batch (epoch, index) this part belongs to.</param>
/// <param name="Indices">Dataset indices for this worker, in permutation order; may be empty in a short last batch.</param>
/// <param name="GlobalBatchCount">Size of the whole global batch (equal to the configured size except a partial last batch).</param>
public sealed record ShardBatch(SamplerPosition Position, IReadOnlyList<int> Indices, int GlobalBatchCount);
