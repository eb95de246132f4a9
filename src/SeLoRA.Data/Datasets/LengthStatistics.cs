namespace SeLoRA.Data.Datasets;

/// <summary>
/// Min, median, 95th percentile and max of a list of lengths. Median: mean of the two middle values when the count is
/// even. P95: nearest rank, the ceil(0.95 n)-th smallest value. All zero for an empty list.
/// </summary>
public sealed record LengthStatistics(int Count, int Min, double Median, int P95, int Max)
{
    public static LengthStatistics From(IEnumerable<int> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var n = sorted.Length;
        if (n == 0) return new LengthStatistics(0, 0, 0, 0, 0);
        var median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
        var rank = (int)Math.Ceiling(0.95 * n);
        return new LengthStatistics(n, sorted[0], median, sorted[Math.Clamp(rank, 1, n) - 1], sorted[n - 1]);
    }

    public override string ToString() =>
        $"min {Min}, median {Median.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)}, p95 {P95}, max {Max}";
}
