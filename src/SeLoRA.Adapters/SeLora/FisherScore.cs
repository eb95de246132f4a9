using static TorchSharp.torch;

namespace SeLoRA.Adapters.SeLora;

/// <summary>
/// SeLoRA's Fisher-information test (paper eqs. 3-5; selora-method.md section 1).
/// FI-Score of a layer = sum of squared gradients of all entries of A and B from one mini-batch (a diagonal empirical
/// Fisher, no 1/N, no normalisation). FI-Ratio = FI-Score(trial A', B' of rank r+1) / FI-Score(A, B). A layer expands
/// when the ratio is at least lambda.
/// </summary>
/// <remarks>
/// Edge cases, defined here once: 0/0 (a layer with no gradient at all, e.g. one whose update is already exact) is
/// "no expansion" and its ratio is reported as NaN; x/0 with x > 0 is +infinity (expands); a non-finite score never
/// expands. Because the trial column of B is zero, FI_exp = FI_orig + ||dL/db_new||^2 when both are taken at the same
/// weights, so the ratio is at least 1. Sums are accumulated in float64.
/// </remarks>
public static class FisherScore
{
    /// <summary>Sum of squares of every entry of every given gradient (null gradients count as zero).</summary>
    public static double Of(IEnumerable<Tensor?> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        var total = 0.0;
        foreach (var g in gradients)
        {
            if (g is null) continue;
            using var scope = NewDisposeScope();
            total += g.detach().to(ScalarType.Float64).square().sum().item<double>();
        }
        return total;
    }

    public static double Of(params Tensor?[] gradients) => Of((IEnumerable<Tensor?>)gradients);

    /// <summary>FI_exp / FI_orig, NaN for 0/0 or non-finite inputs, +infinity for x/0 with x > 0.</summary>
    public static double Ratio(double expanded, double original)
    {
        if (!double.IsFinite(expanded) || !double.IsFinite(original) || expanded < 0 || original < 0) return double.NaN;
        if (original == 0) return expanded == 0 ? double.NaN : double.PositiveInfinity;
        return expanded / original;
    }

    /// <summary>The expansion rule: ratio >= lambda; NaN (0/0, non-finite) never expands.</summary>
    public static bool ShouldExpand(double expanded, double original, double lambda)
    {
        var ratio = Ratio(expanded, original);
        return !double.IsNaN(ratio) && ratio >= lambda;
    }
}
