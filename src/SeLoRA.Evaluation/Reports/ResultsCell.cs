using System.Globalization;

namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// One metric of one (method, dataset) over its seeds: the mean, the sample standard deviation (n - 1; null with one
/// value) and whether it is the best of its dataset.
/// </summary>
public sealed record ResultsCell(string Metric, double Mean, double? Std, int N, bool Best)
{
    /// <summary>Mean and sample standard deviation (n - 1) of the values; <see cref="Std"/> is null for one value.</summary>
    public static ResultsCell Of(string metric, IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException($"{metric}: no values to summarise.", nameof(values));
        var mean = values.Average();
        double? std = null;
        if (values.Count > 1)
        {
            var squares = values.Sum(v => (v - mean) * (v - mean));
            std = Math.Sqrt(squares / (values.Count - 1));
        }
        return new ResultsCell(metric, mean, std, values.Count, Best: false);
    }

    /// <summary>"12.34 ± 0.56", or "12.34 (n=1)" for a single seed.</summary>
    public string Format(int? decimals = null)
    {
        var d = decimals ?? ResultsNaming.Decimals(Metric);
        var mean = Mean.ToString("F" + d, CultureInfo.InvariantCulture);
        return Std is { } s ? $"{mean} ± {s.ToString("F" + d, CultureInfo.InvariantCulture)}" : $"{mean} (n={N})";
    }
}
