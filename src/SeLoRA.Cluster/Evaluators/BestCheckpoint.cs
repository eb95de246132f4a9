using SeLoRA.Evaluation.Reports;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>Chooses a run's best checkpoint from its validation evaluations by one metric.</summary>
public static class BestCheckpoint
{
    /// <summary>
    /// The valid-split report with the best value of <paramref name="metric"/> among those whose checkpoint still
    /// exists (<paramref name="exists"/>); ties go to the earlier step. Null when no report has the metric.
    /// </summary>
    public static EvaluationReport? Select(IEnumerable<EvaluationReport> reports, string metric, Func<EvaluationReport, bool>? exists = null)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var lower = MetricNames.LowerIsBetter(metric);
        var candidates = reports
            .Where(r => r.Split == "valid" && !r.Final && r.Metrics.TryGetValue(metric, out var v) && double.IsFinite(v))
            .Where(r => exists?.Invoke(r) ?? true)
            .OrderBy(r => lower ? r.Metrics[metric] : -r.Metrics[metric])
            .ThenBy(r => r.Step);
        return candidates.FirstOrDefault();
    }
}
