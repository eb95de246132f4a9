using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>Moves a down block's results out of its dispose scope, each distinct tensor once.</summary>
internal static class BlockOutputs
{
    public static (Tensor Hidden, Tensor[] Residuals) MoveOut(DisposeScope scope, Tensor hidden, List<Tensor> residuals)
    {
        var moved = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var t in residuals.Append(hidden))
            if (moved.Add(t)) scope.MoveToOuter(t);
        return (hidden, residuals.ToArray());
    }
}
