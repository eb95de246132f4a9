namespace SeLoRA.Training.Steps;

/// <summary>Settings of the step function.</summary>
public sealed record TrainStepOptions
{
    /// <summary>Run seed; keys every sample's noise and timestep together with the step and the sample index.</summary>
    public ulong Seed { get; init; }

    /// <summary>Samples in the GLOBAL batch; a shard's summed loss is divided by it, so shard losses add up to the batch mean.</summary>
    public int GlobalBatchSize { get; init; } = 1;

    /// <summary>Min-SNR-gamma loss weighting (Hang et al. 2023, diffusers' snr_gamma); null (default) switches it off.</summary>
    public double? MinSnrGamma { get; init; }

    /// <summary>diffusers' noise_offset: each sample's noise gets offset * N(0, 1) per channel added; 0 switches it off.</summary>
    public double NoiseOffset { get; init; }

    public void Validate()
    {
        if (!(NoiseOffset >= 0) || !double.IsFinite(NoiseOffset)) throw new ArgumentOutOfRangeException(nameof(NoiseOffset), NoiseOffset, "noise offset must be finite and >= 0");
        if (GlobalBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(GlobalBatchSize), GlobalBatchSize, "global batch size must be >= 1");
        if (MinSnrGamma is { } g && !(g > 0)) throw new ArgumentOutOfRangeException(nameof(MinSnrGamma), g, "snr gamma must be > 0");
    }
}
