using System.Globalization;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Fid;

/// <summary>
/// Mean and sample covariance (n - 1 denominator, as numpy.cov(rowvar=False) in pytorch-fid) of a set of feature vectors,
/// in float64. <see cref="Covariance"/> is row-major, <see cref="Dimension"/> x <see cref="Dimension"/>.
/// </summary>
public sealed record FeatureStatistics
{
    /// <summary>Builds statistics from given moments; checks shapes and finiteness.</summary>
    /// <param name="count">Number of feature vectors behind the moments; 0 when unknown (e.g. a file without it).</param>
    public FeatureStatistics(long count, double[] mean, double[] covariance)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "feature count cannot be negative");
        if (mean.Length == 0) throw new ArgumentException("mean is empty: features need at least one dimension", nameof(mean));
        if ((long)mean.Length * mean.Length != covariance.Length)
            throw new ArgumentException(
                $"covariance has {covariance.Length} elements; a {mean.Length}-d mean needs {mean.Length}x{mean.Length} = {(long)mean.Length * mean.Length}",
                nameof(covariance));
        RequireFinite(mean, "mean");
        RequireFinite(covariance, "covariance");
        Count = count;
        Mean = mean;
        Covariance = covariance;
    }

    /// <summary>Number of feature vectors (0 when unknown).</summary>
    public long Count { get; }

    /// <summary>Feature dimension d.</summary>
    public int Dimension => Mean.Length;

    /// <summary>Mean feature vector, length d.</summary>
    public double[] Mean { get; }

    /// <summary>Sample covariance (n - 1), row-major d x d.</summary>
    public double[] Covariance { get; }

    /// <summary>Covariance element (i, j).</summary>
    public double CovarianceAt(int i, int j) => Covariance[(long)i * Dimension + j];

    /// <summary>Statistics of features [n, d] (any float dtype, any device); n must be at least 2.</summary>
    public static FeatureStatistics FromFeatures(Tensor features)
    {
        using var accumulator = new FeatureStatisticsAccumulator();
        accumulator.Add(features);
        return accumulator.ToStatistics();
    }

    /// <summary>Statistics of feature rows (all the same length); at least 2 rows.</summary>
    public static FeatureStatistics FromFeatures(IReadOnlyList<float[]> features)
    {
        using var accumulator = new FeatureStatisticsAccumulator();
        accumulator.Add(features);
        return accumulator.ToStatistics();
    }

    /// <summary>
    /// Writes a safetensors file with float64 tensors "mu" [d] and "sigma" [d, d] (pytorch-fid's .npz key names) and the
    /// count in the metadata.
    /// </summary>
    public void Save(string path)
    {
        TorchRuntime.EnsureLoaded();
        using var mu = tensor(Mean, dtype: ScalarType.Float64);
        using var sigma = tensor(Covariance, [Dimension, Dimension], dtype: ScalarType.Float64);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["kind"] = "feature-statistics",
            ["count"] = Count.ToString(CultureInfo.InvariantCulture),
        };
        SafetensorsFile.Save(path, [new("mu", mu), new("sigma", sigma)], metadata);
    }

    /// <summary>Reads a file written by <see cref="Save"/> (or any safetensors file with "mu" [d] and "sigma" [d, d]).</summary>
    public static FeatureStatistics Load(string path)
    {
        var header = SafetensorsFile.ReadHeader(path);
        var tensors = SafetensorsFile.Load(path, name => name is "mu" or "sigma");
        try
        {
            if (!tensors.TryGetValue("mu", out var mu)) throw new InvalidDataException($"{path}: no tensor 'mu' (the feature mean)");
            if (!tensors.TryGetValue("sigma", out var sigma)) throw new InvalidDataException($"{path}: no tensor 'sigma' (the feature covariance)");
            if (mu.ndim != 1) throw new InvalidDataException($"{path}: 'mu' has shape {SafetensorsFile.FormatShape(mu.shape)}; expected [d]");
            var d = mu.shape[0];
            if (sigma.ndim != 2 || sigma.shape[0] != d || sigma.shape[1] != d)
                throw new InvalidDataException($"{path}: 'sigma' has shape {SafetensorsFile.FormatShape(sigma.shape)}; expected [{d}, {d}] to match 'mu'");
            long count = 0;
            if (header.Metadata.TryGetValue("count", out var text)
                && !long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out count))
                throw new InvalidDataException($"{path}: metadata 'count' is '{text}', not an integer");
            using var mu64 = mu.to_type(ScalarType.Float64);
            using var sigma64 = sigma.to_type(ScalarType.Float64).contiguous();
            try
            {
                return new FeatureStatistics(count, mu64.data<double>().ToArray(), sigma64.data<double>().ToArray());
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    static void RequireFinite(double[] values, string name)
    {
        for (var i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"{name}[{i}] is {values[i].ToString(CultureInfo.InvariantCulture)}; statistics must be finite", name);
    }
}
