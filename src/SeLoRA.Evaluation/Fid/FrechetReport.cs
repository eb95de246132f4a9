using System.Globalization;

namespace SeLoRA.Evaluation.Fid;

/// <summary>
/// A Fréchet distance between a real and a generated image set, with what it was computed with: reports must carry the
/// metric name (FD-ResNet18 or FID), the network and its preprocessing, because values from different networks or resizes
/// are not comparable.
/// </summary>
/// <param name="Metric">"FD-ResNet18", "FID" (pytorch-fid's InceptionV3 only), or "FD (network)".</param>
/// <param name="Network">The feature network's name.</param>
/// <param name="Resize">Short form of the resize for one-line reports, e.g. "bilinear 224".</param>
/// <param name="Preprocessing">The full resize and normalisation.</param>
/// <param name="RealCount">Images behind the real statistics.</param>
/// <param name="GeneratedCount">Images behind the generated statistics.</param>
/// <param name="Value">The distance.</param>
/// <param name="MeanTerm">||mu_real - mu_generated||^2.</param>
/// <param name="TraceReal">Tr(S_real).</param>
/// <param name="TraceGenerated">Tr(S_generated).</param>
/// <param name="TraceSqrtProduct">Tr(sqrt(S_real S_generated)).</param>
/// <param name="EpsilonApplied">Whether pytorch-fid's diagonal offset was needed.</param>
/// <param name="Note">Why the offset was needed, or null.</param>
public sealed record FrechetReport(
    string Metric,
    string Network,
    string Resize,
    string Preprocessing,
    long RealCount,
    long GeneratedCount,
    double Value,
    double MeanTerm,
    double TraceReal,
    double TraceGenerated,
    double TraceSqrtProduct,
    bool EpsilonApplied,
    string? Note)
{
    /// <summary>Builds a report from the distance's parts (real first, generated second).</summary>
    public static FrechetReport Create(string metric, string network, string resize, string preprocessing, long realCount,
        long generatedCount, FrechetDistanceResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new FrechetReport(metric, network, resize, preprocessing, realCount, generatedCount, result.Distance, result.MeanTerm,
            result.TraceSigma1, result.TraceSigma2, result.TraceSqrtProduct, result.EpsilonApplied, result.Note);
    }

    /// <summary>The metric's key in evaluation reports: "fd-resnet18", "fid", ... (the metric name in lower case).</summary>
    public string MetricKey => Metric.ToLowerInvariant();

    /// <summary>One line for reports: "FD-ResNet18 12.34 (ResNet18 (ImageNet, ONNX), bilinear 224, 100 real vs 100 generated images)".</summary>
    public string Describe()
    {
        // Rounding makes a set against itself a hair below zero; print 0.00 rather than -0.00.
        var shown = Math.Abs(Value) < 0.005 ? 0.0 : Value;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Metric} {shown:F2} ({Network}, {Resize}, {RealCount} real vs {GeneratedCount} generated images)");
    }
}
