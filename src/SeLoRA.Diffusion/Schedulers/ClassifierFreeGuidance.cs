using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>Classifier-free guidance: eps = eps_uncond + scale * (eps_text - eps_uncond).</summary>
public static class ClassifierFreeGuidance
{
    /// <summary>SD1.5's usual guidance scale.</summary>
    public const double DefaultScale = 7.5;

    /// <summary>Combines the unconditional and text-conditioned predictions (same shape) into a new tensor.</summary>
    public static Tensor Combine(Tensor uncond, Tensor text, double scale)
    {
        ArgumentNullException.ThrowIfNull(uncond);
        ArgumentNullException.ThrowIfNull(text);
        using var scope = NewDisposeScope();
        var result = uncond + scale * (text - uncond);
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// Combines a batched prediction laid out as diffusers' pipelines do, [uncond; text] along dim 0
    /// (the two halves of <c>noise_pred.chunk(2)</c>).
    /// </summary>
    public static Tensor CombineBatched(Tensor prediction, double scale)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (prediction.dim() < 1 || prediction.shape[0] % 2 != 0)
            throw new ArgumentException($"expected an even batch [uncond; text], got shape [{string.Join(", ", prediction.shape)}]", nameof(prediction));
        using var scope = NewDisposeScope();
        var halves = prediction.chunk(2, 0);
        var result = Combine(halves[0], halves[1], scale);
        return scope.MoveToOuter(result);
    }
}
