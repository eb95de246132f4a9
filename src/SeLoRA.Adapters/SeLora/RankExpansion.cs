using TorchSharp.Modules;

namespace SeLoRA.Adapters.SeLora;

/// <summary>
/// What an expansion replaced: the layer's old A and B (no longer in the module; the caller disposes them once the
/// optimizer has let go of them) and the new, one-rank-larger A and B.
/// </summary>
public sealed record RankExpansion(SeLoraLinear Layer, int OldRank, Parameter OldA, Parameter OldB, Parameter NewA, Parameter NewB)
{
    public int NewRank => OldRank + 1;
}
