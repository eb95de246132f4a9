using SeLoRA.Evaluation.FeatureNetworks;
using SeLoRA.Evaluation.Fid;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>
/// The Fréchet distance between the split's real images and the generated ones: FD-ResNet18 with the offline ResNet18,
/// FID with pytorch-fid's Inception weights. The real images' statistics are cached per run (they do not change
/// between checkpoints).
/// </summary>
public sealed class FrechetMetric(string features, int batchSize) : ICheckpointMetric
{
    readonly IFeatureNetwork network = FeatureNetworkFactory.Create(features);

    public string Name => FeatureNetworkFactory.MetricName(network).ToLowerInvariant();

    public void Measure(MetricInputs inputs, IDictionary<string, double> metrics, IDictionary<string, string> details, CancellationToken cancellation)
    {
        var cache = Path.Combine(inputs.RunDirectory, "evaluations", "feature-cache");
        var (real, _) = ImageSetFeatures.ComputeCached(network, inputs.Examples.Select(e => e.ImagePath).ToList(), cache, batchSize, cancellationToken: cancellation);
        var generated = ImageSetFeatures.Compute(network, inputs.GeneratedImages, batchSize, cancellationToken: cancellation);
        var report = FolderFrechet.FromStatistics(network, real, generated);
        metrics[report.MetricKey] = report.Value;
        details[report.MetricKey] = report.Describe() + (report.EpsilonApplied ? $"; {report.Note}" : "");
    }

    public void Dispose() => network.Dispose();
}
