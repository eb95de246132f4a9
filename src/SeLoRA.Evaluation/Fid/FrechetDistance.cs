using System.Globalization;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Fid;

/// <summary>
/// The Fréchet distance between two Gaussians as pytorch-fid's calculate_frechet_distance defines it, in float64:
/// ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrt(S1 S2)).
/// </summary>
/// <remarks>
/// pytorch-fid takes scipy's sqrtm of the non-symmetric product S1 S2. For symmetric positive-semidefinite S1, S2 the
/// eigenvalues of S1 S2 equal those of M = sqrt(S1) S2 sqrt(S1), which is symmetric PSD, so Tr(sqrt(S1 S2)) = sum of the
/// square roots of M's eigenvalues; both come from symmetric eigendecompositions (eigh), which are stable and never
/// complex. Eigenvalues that rounding pushes below zero are clamped to zero.
/// </remarks>
public static class FrechetDistance
{
    /// <summary>pytorch-fid's default offset added to both diagonals when the product is singular.</summary>
    public const double DefaultEpsilon = 1e-6;

    /// <summary>The distance between two feature statistics.</summary>
    public static double Compute(FeatureStatistics a, FeatureStatistics b) => ComputeDetailed(a, b).Distance;

    /// <summary>The distance and its parts between two feature statistics.</summary>
    public static FrechetDistanceResult ComputeDetailed(FeatureStatistics a, FeatureStatistics b, double epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"feature dimensions differ: {a.Dimension} and {b.Dimension}; statistics from different feature networks cannot be compared");
        return ComputeDetailed(a.Mean, a.Covariance, b.Mean, b.Covariance, epsilon);
    }

    /// <summary>The distance and its parts from means [d] and row-major covariances [d * d].</summary>
    public static FrechetDistanceResult ComputeDetailed(double[] mu1, double[] sigma1, double[] mu2, double[] sigma2, double epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(mu1);
        ArgumentNullException.ThrowIfNull(sigma1);
        ArgumentNullException.ThrowIfNull(mu2);
        ArgumentNullException.ThrowIfNull(sigma2);
        if (mu1.Length != mu2.Length)
            throw new ArgumentException($"mean vectors have different lengths: {mu1.Length} and {mu2.Length}");
        var d = mu1.Length;
        if (d == 0) throw new ArgumentException("mean vectors are empty");
        if (sigma1.Length != (long)d * d) throw new ArgumentException($"sigma1 has {sigma1.Length} elements; {d}-d means need {d}x{d}", nameof(sigma1));
        if (sigma2.Length != (long)d * d) throw new ArgumentException($"sigma2 has {sigma2.Length} elements; {d}-d means need {d}x{d}", nameof(sigma2));
        RequireFinite(mu1, nameof(mu1));
        RequireFinite(mu2, nameof(mu2));
        RequireFinite(sigma1, nameof(sigma1));
        RequireFinite(sigma2, nameof(sigma2));
        if (!(epsilon > 0) || !double.IsFinite(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "must be positive and finite");

        double meanTerm = 0, trace1 = 0, trace2 = 0;
        for (var i = 0; i < d; i++)
        {
            var diff = mu1[i] - mu2[i];
            meanTerm += diff * diff;
            trace1 += sigma1[(long)i * d + i];
            trace2 += sigma2[(long)i * d + i];
        }

        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var s1 = tensor(sigma1, [d, d], ScalarType.Float64);
        var s2 = tensor(sigma2, [d, d], ScalarType.Float64);

        var traceSqrt = TryTraceSqrtProduct(s1, s2, out var failure);
        var applied = false;
        string? note = null;
        if (traceSqrt is null)
        {
            var offset = eye(d, dtype: ScalarType.Float64) * epsilon;
            applied = true;
            note = $"fid calculation produced a non-finite or failed square root ({failure}); added {epsilon.ToString("G", CultureInfo.InvariantCulture)} to the diagonal of both covariances";
            traceSqrt = TryTraceSqrtProduct(s1 + offset, s2 + offset, out var second)
                ?? throw new ArithmeticException($"Tr(sqrt(S1 S2)) is not finite even with {epsilon} added to both diagonals: {second}");
        }

        var distance = meanTerm + trace1 + trace2 - 2 * traceSqrt.Value;
        return new FrechetDistanceResult(distance, meanTerm, trace1, trace2, traceSqrt.Value, applied, note);
    }

    /// <summary>Tr(sqrt(S1 S2)) via sqrt(S1) S2 sqrt(S1); null with a reason when it is not finite or eigh fails.</summary>
    static double? TryTraceSqrtProduct(Tensor s1, Tensor s2, out string? failure)
    {
        failure = null;
        try
        {
            using var scope = NewDisposeScope();
            var sqrt1 = SymmetricSqrt(s1);
            var m = sqrt1.matmul(Symmetrize(s2)).matmul(sqrt1);
            var eigenvalues = linalg.eigvalsh(Symmetrize(m));
            var trace = eigenvalues.clamp_min(0).sqrt().sum().item<double>();
            if (double.IsFinite(trace)) return trace;
            failure = "trace is " + trace.ToString(CultureInfo.InvariantCulture);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = "eigendecomposition failed: " + e.Message;
            return null;
        }
    }

    /// <summary>The PSD square root of a symmetric matrix: V diag(sqrt(max(w, 0))) V^T.</summary>
    static Tensor SymmetricSqrt(Tensor s)
    {
        var (w, v) = linalg.eigh(Symmetrize(s));
        return (v * w.clamp_min(0).sqrt().unsqueeze(0)).matmul(v.t());
    }

    // Rounding leaves covariances and products slightly asymmetric; eigh reads one triangle only, so average them.
    static Tensor Symmetrize(Tensor s) => (s + s.t()) * 0.5;

    static void RequireFinite(double[] values, string name)
    {
        for (var i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"{name}[{i}] is {values[i].ToString(CultureInfo.InvariantCulture)}; Fréchet distance inputs must be finite", name);
    }
}
