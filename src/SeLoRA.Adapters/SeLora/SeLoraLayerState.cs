namespace SeLoRA.Adapters.SeLora;

/// <summary>What the expansion decision needs of a layer, without the layer: its index, name, rank and shape.</summary>
public sealed record SeLoraLayerState(int LayerIndex, string Name, int Rank, long InFeatures, long OutFeatures)
{
    /// <summary>Elements of the layer's trial A [r+1, in] and trial B [out, r+1] in a trial gradient buffer.</summary>
    public long TrialLength => (Rank + 1L) * (InFeatures + OutFeatures);
}
