namespace SeLoRA.Cluster.Evaluators;

/// <summary>The metric keys of evaluation reports and EvaluationCompleted events.</summary>
public static class MetricNames
{
    public const string FdResNet18 = "fd-resnet18";
    public const string Fid = "fid";
    public const string ClipScore = "clip-score";
    public const string FindingAccuracy = "finding-accuracy";
    public const string FindingAuc = "finding-auc";
    public const string ValidationLoss = "validation-loss";

    /// <summary>True when a lower value is better.</summary>
    public static bool LowerIsBetter(string metric) => metric is FdResNet18 or Fid or ValidationLoss || metric.StartsWith("fd-", StringComparison.Ordinal);
}
