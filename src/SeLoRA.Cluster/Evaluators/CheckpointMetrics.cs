using static TorchSharp.torch;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>Makes the metric a name in selora.eval.metrics stands for.</summary>
public static class CheckpointMetrics
{
    public static ICheckpointMetric Create(string name, EvaluationSettings settings, Device device, Action<string>? log = null) => name switch
    {
        MetricNames.FindingAccuracy => new FindingAccuracyMetric(settings.FindingClassifier, settings.BatchSize, log ?? (_ => { })),
        MetricNames.ValidationLoss => new ValidationLossMetric(),
        MetricNames.FdResNet18 or MetricNames.Fid => new FrechetMetric(settings.Features, settings.BatchSize),
        MetricNames.ClipScore => new ClipScoreMetric(settings.ClipModel, device, settings.BatchSize),
        _ => throw new ArgumentException($"selora.eval.metrics: unknown metric '{name}'; known: {string.Join(", ", EvaluationSettings.KnownMetrics)}."),
    };
}
