using TorchSharp.Modules;

namespace SeLoRA.Adapters.AdaLora;

/// <summary>
/// What <see cref="AdaLoraLinear.Prune"/> replaced: the old A, B and E (no longer in the module; the caller disposes them
/// once an optimizer has let go of them) and the new ones, which hold only the kept triplets (possibly none).
/// </summary>
public sealed record AdaLoraPruning(
    AdaLoraLinear Layer,
    int OldRank,
    Parameter OldA,
    Parameter OldB,
    Parameter OldE,
    Parameter NewA,
    Parameter NewB,
    Parameter NewE)
{
    public int NewRank => (int)NewE.shape[0];
}
