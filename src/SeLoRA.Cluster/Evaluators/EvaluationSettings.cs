using Akka.Configuration;
using SeLoRA.Cluster.Hosting;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>selora.eval: what evaluators measure, on how many prompts, and how they keep out of training's way.</summary>
public sealed record EvaluationSettings
{
    public const string Prefix = "selora.eval";

    /// <summary>Names <see cref="Metrics"/> may hold.</summary>
    public static readonly IReadOnlyList<string> KnownMetrics = [MetricNames.FdResNet18, MetricNames.Fid, MetricNames.ClipScore, MetricNames.FindingAccuracy, MetricNames.ValidationLoss];

    public bool DuringTraining { get; init; } = true;
    public bool FinalTest { get; init; } = true;
    public string BestBy { get; init; } = MetricNames.ValidationLoss;

    /// <summary>Empty: auto (see hocon/base.hocon).</summary>
    public IReadOnlyList<string> Metrics { get; init; } = [];

    public string Features { get; init; } = "resnet18";
    public string ClipModel { get; init; } = "";
    public string FindingClassifier { get; init; } = "";
    public int ValidCount { get; init; } = 64;
    public int TestCount { get; init; } = -1;

    /// <summary>0: the run's generation steps.</summary>
    public int Steps { get; init; }

    /// <summary>Below 0: the run's generation guidance.</summary>
    public double Guidance { get; init; } = -1;

    public long Seed { get; init; }
    public int BatchSize { get; init; } = 8;
    public int MaxConcurrent { get; init; } = 1;
    public bool SkipSuperseded { get; init; } = true;

    /// <summary>Empty: selora.torch.device.</summary>
    public string Device { get; init; } = "";

    public static EvaluationSettings Default { get; } = new();

    /// <summary>Reads selora.eval; errors name the full key.</summary>
    public static EvaluationSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var r = new SettingReader(config);
        static string K(string name) => $"{Prefix}.{name}";
        var metrics = r.StringList(K("metrics")).Select(m => m.Trim().ToLowerInvariant()).ToList();
        if (metrics is ["auto"]) metrics = [];
        foreach (var m in metrics)
            if (!KnownMetrics.Contains(m))
                throw TrainingConfigReader.Invalid(K("metrics"), $"[{string.Join(", ", metrics)}]", $"[auto] or a list of {string.Join(", ", KnownMetrics)} (\"{m}\" is not one)");
        var features = r.String(K("features"), f => f == "resnet18" || f.StartsWith("inception:", StringComparison.Ordinal) && f.Length > "inception:".Length,
            "resnet18 or inception:<weights file>");
        if (metrics.Contains(MetricNames.Fid) && features == "resnet18")
            throw TrainingConfigReader.Invalid(K("features"), features, $"inception:<weights file> when {K("metrics")} has fid (ResNet18 features give fd-resnet18, never FID)");
        if (metrics.Contains(MetricNames.FdResNet18) && features != "resnet18")
            throw TrainingConfigReader.Invalid(K("features"), features, $"resnet18 when {K("metrics")} has fd-resnet18 (Inception features give fid)");
        var bestBy = r.String(K("best-by"), b => KnownMetrics.Contains(b), string.Join(", ", KnownMetrics));
        var duringTraining = r.Bool(K("during-training"));
        if (bestBy != MetricNames.ValidationLoss && !duringTraining)
            throw TrainingConfigReader.Invalid(K("best-by"), bestBy, $"validation-loss when {K("during-training")} is off (a metric-chosen best needs every checkpoint evaluated)");
        return new EvaluationSettings
        {
            DuringTraining = duringTraining,
            FinalTest = r.Bool(K("final-test")),
            BestBy = bestBy,
            Metrics = metrics,
            Features = features,
            ClipModel = r.String(K("clip-model"), _ => true, "a folder or empty"),
            FindingClassifier = r.String(K("finding-classifier"), _ => true, "a file or empty"),
            ValidCount = r.Int(K("valid-count"), v => v == -1 || v >= 2, "-1 (all) or at least 2 (a covariance needs two images)"),
            TestCount = r.Int(K("test-count"), v => v == -1 || v >= 2, "-1 (all) or at least 2"),
            Steps = r.Int(K("steps"), v => v >= 0, "0 (the run's) or a step count"),
            Guidance = r.Double(K("guidance"), v => !double.IsNaN(v), "a number; below 0: the run's"),
            Seed = r.Long(K("seed"), _ => true, ""),
            BatchSize = r.Int(K("batch"), v => v >= 1, "at least 1"),
            MaxConcurrent = r.Int(K("max-concurrent"), v => v >= 1, "at least 1"),
            SkipSuperseded = r.Bool(K("skip-superseded")),
            Device = r.Device(K("device"), "selora.torch.device"),
        };
    }

    /// <summary>Metrics to measure for a dataset spec (resolves auto).</summary>
    public IReadOnlyList<string> MetricsFor(bool synthCxr)
    {
        if (Metrics.Count > 0) return Metrics;
        var list = new List<string> { Features == "resnet18" ? MetricNames.FdResNet18 : MetricNames.Fid };
        if (synthCxr) list.Add(MetricNames.FindingAccuracy);
        if (ClipModel.Length > 0) list.Add(MetricNames.ClipScore);
        return list;
    }
}
