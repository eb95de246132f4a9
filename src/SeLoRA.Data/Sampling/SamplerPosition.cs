namespace SeLoRA.Data.Sampling;

/// <summary>Where a run is in the data stream: the next global batch to train on. Saved in checkpoints to resume.</summary>
public readonly record struct SamplerPosition(int Epoch, int BatchIndex)
{
    public static SamplerPosition Start { get; } = new(0, 0);
}
