using System.Globalization;

namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// How `selora results` names, orders and judges methods and metrics: methods in the paper's Table 1 order (LoRA,
/// AdaLoRA, DyLoRA, SeLoRA, then others), metrics fidelity first (FID, FD-*), then prompt alignment and findings.
/// </summary>
public static class ResultsNaming
{
    static readonly string[] PaperMethods = ["lora", "adalora", "dylora", "selora"];
    static readonly string[] PaperMethodNames = ["LoRA", "AdaLoRA", "DyLoRA", "SeLoRA"];

    /// <summary>The grouping key of a method: trimmed, lower case ("SeLoRA" and "selora" are one method).</summary>
    public static string MethodKey(string method) => method.Trim().ToLowerInvariant();

    public static string MethodDisplayName(string method)
    {
        var i = Array.IndexOf(PaperMethods, MethodKey(method));
        return i >= 0 ? PaperMethodNames[i] : method.Trim();
    }

    /// <summary>Sorts methods as the paper lists them; unknown methods follow, alphabetically.</summary>
    public static int CompareMethods(string a, string b)
    {
        var (ka, kb) = (MethodKey(a), MethodKey(b));
        var (ia, ib) = (Rank(ka), Rank(kb));
        return ia != ib ? ia.CompareTo(ib) : string.CompareOrdinal(ka, kb);

        static int Rank(string key) => Array.IndexOf(PaperMethods, key) is var i and >= 0 ? i : PaperMethods.Length;
    }

    /// <summary>Lower is better for distances (fid, fd-*, kid*) and losses; higher for CLIP score and finding accuracy/AUC.</summary>
    public static MetricDirection Direction(string metric)
    {
        var m = metric.ToLowerInvariant();
        if (m is "fid" || m.StartsWith("fd-", StringComparison.Ordinal) || m.StartsWith("kid", StringComparison.Ordinal) || m.EndsWith("loss", StringComparison.Ordinal))
            return MetricDirection.LowerIsBetter;
        if (m is "clip-score" || m.StartsWith("finding-", StringComparison.Ordinal) || m.EndsWith("accuracy", StringComparison.Ordinal))
            return MetricDirection.HigherIsBetter;
        return MetricDirection.Unknown;
    }

    public static string MetricDisplayName(string metric) => metric.ToLowerInvariant() switch
    {
        "fid" => "FID",
        "clip-score" => "CLIP Score",
        "finding-accuracy" => "Finding accuracy",
        "finding-auc" => "Finding AUC",
        "validation-loss" => "Validation loss",
        var m when m.StartsWith("fd-", StringComparison.Ordinal) => "FD-" + FeatureNetworkName(metric[3..]),
        _ => metric,
    };

    /// <summary>The display name with ↓ (lower is better) or ↑ (higher is better).</summary>
    public static string MetricHeader(string metric) => Direction(metric) switch
    {
        MetricDirection.LowerIsBetter => MetricDisplayName(metric) + " ↓",
        MetricDirection.HigherIsBetter => MetricDisplayName(metric) + " ↑",
        _ => MetricDisplayName(metric),
    };

    /// <summary>FID and FD-* first (the paper's first column), then CLIP score, findings, losses, then the rest alphabetically.</summary>
    public static int CompareMetrics(string a, string b)
    {
        var (ia, ib) = (Rank(a), Rank(b));
        return ia != ib ? ia.CompareTo(ib) : string.CompareOrdinal(a, b);

        static int Rank(string metric) => metric.ToLowerInvariant() switch
        {
            "fid" => 0,
            var m when m.StartsWith("fd-", StringComparison.Ordinal) => 1,
            "clip-score" => 2,
            "finding-accuracy" => 3,
            "finding-auc" => 4,
            var m when m.StartsWith("finding-", StringComparison.Ordinal) => 5,
            "validation-loss" => 7,
            _ => 6,
        };
    }

    /// <summary>Decimals a metric is printed with: accuracies and AUCs live in [0, 1], losses are small.</summary>
    public static int Decimals(string metric)
    {
        var m = metric.ToLowerInvariant();
        if (m.EndsWith("loss", StringComparison.Ordinal)) return 4;
        if (m.StartsWith("finding-", StringComparison.Ordinal) || m.EndsWith("accuracy", StringComparison.Ordinal)) return 3;
        return 2;
    }

    static string FeatureNetworkName(string network) => network.ToLowerInvariant() switch
    {
        "resnet18" => "ResNet18",
        "inception" or "inceptionv3" => "InceptionV3",
        _ => network,
    };

    internal static string Number(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);
}
