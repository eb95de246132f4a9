using static TorchSharp.torch;

namespace SeLoRA.Training.Steps;

/// <summary>
/// One worker's shard of a global batch: latents [B, 4, h, w] already multiplied by the VAE scaling factor, token ids
/// [B, 77] (int64), and each sample's key, which seeds its noise and timestep: unique within the global batch and
/// independent of the split, e.g. its position in the GLOBAL batch (0 .. global batch size - 1, what the tests use) or its
/// dataset index. The batch does not own its tensors.
/// </summary>
public sealed record StepBatch(Tensor Latents, Tensor InputIds, IReadOnlyList<long> SampleIndices)
{
    public int Count => SampleIndices.Count;

    public void Validate()
    {
        if (Latents.dim() != 4) throw new ArgumentException($"Latents must be [B, C, h, w], got [{string.Join(", ", Latents.shape)}].");
        if (InputIds.dim() != 2) throw new ArgumentException($"Input ids must be [B, seq], got [{string.Join(", ", InputIds.shape)}].");
        if (Latents.shape[0] != Count || InputIds.shape[0] != Count)
            throw new ArgumentException($"Batch sizes disagree: latents {Latents.shape[0]}, input ids {InputIds.shape[0]}, sample indices {Count}.");
        if (Count == 0) throw new ArgumentException("A batch needs at least one sample.");
        if (SampleIndices.Distinct().Count() != Count) throw new ArgumentException("Sample indices must be distinct.");
    }

    /// <summary>Rows [offset, offset + count) as a shard (for tests and single-machine data parallelism); views, not copies.</summary>
    public StepBatch Slice(int offset, int count) =>
        new(Latents.narrow(0, offset, count), InputIds.narrow(0, offset, count), SampleIndices.Skip(offset).Take(count).ToArray());
}
