namespace SeLoRA.Adapters.Persistence;

/// <summary>Choices for <see cref="AdapterFile.Load"/>.</summary>
public sealed record AdapterLoadOptions
{
    /// <summary>
    /// Restore each SeLoRA layer's draw count and trial row from the file (needed to resume a run bit-exactly). The file's
    /// layer indices and seed must then equal the model's, since they seed every later draw. Off: the state the
    /// expansions made during loading stays (it equals the saved one when the seed and layer indices are the same).
    /// </summary>
    public bool RestoreGrowthState { get; init; } = true;

    /// <summary>Check the file's per-layer scaling (alpha / r from its metadata) against the model's adapters.</summary>
    public bool CheckScaling { get; init; } = true;
}
