namespace SeLoRA.Adapters.Optimization;

/// <summary>What the optimizer keeps of a layer's state when the layer's A and B are replaced by larger ones.</summary>
public enum RankGrowthPolicy
{
    /// <summary>
    /// The official SeLoRA behaviour: the old A and B leave the optimizer and the new ones enter fresh, so Adam's moments
    /// and step count restart for the whole A and B of the expanded layer.
    /// </summary>
    ResetLayerState,

    /// <summary>Copy the old rows'/columns' moments into the enlarged moments, zero for the new row/column, keep the step count.</summary>
    KeepOldRows,
}
