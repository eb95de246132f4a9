using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Fid;

/// <summary>
/// Accumulates feature batches [n, d] into mean and scatter matrix in float64 on the CPU, merging per-batch centred
/// moments (Chan et al.) so that a large common offset in the features does not cancel away precision the way
/// sum(x x^T) - n mu mu^T would.
/// </summary>
public sealed class FeatureStatisticsAccumulator : IDisposable
{
    Tensor? mean;    // [d], float64
    Tensor? scatter; // [d, d], float64: sum of (x - mean)(x - mean)^T
    bool disposed;

    /// <summary>Feature vectors added so far.</summary>
    public long Count { get; private set; }

    /// <summary>Feature dimension, or null before the first batch.</summary>
    public int? Dimension => mean is null ? null : (int)mean.shape[0];

    /// <summary>Adds a batch [n, d] (any float dtype, any device); rejects non-finite values and a changed d.</summary>
    public void Add(Tensor features)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(features);
        TorchRuntime.EnsureLoaded();
        if (features.ndim != 2)
            throw new ArgumentException($"features must be [n, d]; got shape [{string.Join(", ", features.shape)}]", nameof(features));
        if (!features.is_floating_point())
            throw new ArgumentException($"features must be a floating-point tensor; got {features.dtype}", nameof(features));
        var n = features.shape[0];
        var d = features.shape[1];
        if (n == 0) return;
        if (d == 0) throw new ArgumentException("features have dimension 0", nameof(features));
        if (Dimension is { } known && known != d)
            throw new ArgumentException($"features have dimension {d}; earlier batches had {known}", nameof(features));

        using var scope = NewDisposeScope();
        var x = features.detach().to(ScalarType.Float64, CPU);
        if (!x.isfinite().all().item<bool>())
            throw new ArgumentException($"features contain NaN or infinite values (batch of {n} starting after {Count} vectors)", nameof(features));
        var batchMean = x.mean([0]);
        var centred = x - batchMean;
        var batchScatter = centred.t().matmul(centred);

        if (mean is null || scatter is null)
        {
            mean = batchMean.MoveToOuterDisposeScope();
            scatter = batchScatter.MoveToOuterDisposeScope();
        }
        else
        {
            double na = Count, nb = n, total = na + nb;
            var delta = batchMean - mean;
            var newMean = mean + delta * (nb / total);
            var newScatter = scatter + batchScatter + delta.outer(delta) * (na * nb / total);
            mean.Dispose();
            scatter.Dispose();
            mean = newMean.MoveToOuterDisposeScope();
            scatter = newScatter.MoveToOuterDisposeScope();
        }
        Count += n;
    }

    /// <summary>Adds feature rows (all the same length).</summary>
    public void Add(IReadOnlyList<float[]> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Count == 0) return;
        var d = features[0].Length;
        var flat = new float[(long)features.Count * d];
        for (var i = 0; i < features.Count; i++)
        {
            if (features[i].Length != d)
                throw new ArgumentException($"feature row {i} has length {features[i].Length}; row 0 has {d}", nameof(features));
            Array.Copy(features[i], 0, flat, (long)i * d, d);
        }
        TorchRuntime.EnsureLoaded();
        using var t = tensor(flat, [features.Count, d]);
        Add(t);
    }

    /// <summary>Mean and n - 1 covariance of everything added; needs at least 2 vectors.</summary>
    public FeatureStatistics ToStatistics()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (mean is null || scatter is null || Count < 2)
            throw new InvalidOperationException($"the sample covariance needs at least 2 feature vectors; got {Count}");
        using var cov = scatter / (double)(Count - 1);
        using var symmetric = (cov + cov.t()) * 0.5; // the merges leave rounding asymmetry; numpy.cov is exactly symmetric
        using var contiguous = symmetric.contiguous();
        return new FeatureStatistics(Count, mean.data<double>().ToArray(), contiguous.data<double>().ToArray());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        mean?.Dispose();
        scatter?.Dispose();
    }
}
