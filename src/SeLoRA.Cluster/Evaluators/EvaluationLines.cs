using System.Globalization;
using SeLoRA.Evaluation.Reports;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>Console lines about a run's evaluations.</summary>
public static class EvaluationLines
{
    /// <summary>The final test evaluation, one line per metric with how it was measured; nothing when there is none.</summary>
    public static IReadOnlyList<string> Final(string runDirectory)
    {
        var folder = new RunLayout(runDirectory).Evaluations;
        if (!Directory.Exists(folder)) return [];
        var final = Directory.EnumerateFiles(folder, "*-test.json").Select(EvaluationReport.Read)
            .Where(r => r.Final).OrderBy(r => r.CompletedUtc).LastOrDefault();
        return final is null ? [] : Describe(final);
    }

    public static IReadOnlyList<string> Describe(EvaluationReport r)
    {
        var lines = new List<string>
        {
            $"{(r.Final ? "Final test evaluation" : "Evaluation")} of step {r.Step} ({r.CheckpointName}, {r.Split} split): {r.GeneratedCount} generated vs {r.RealCount} real images, " +
            $"{r.InferenceSteps} steps, guidance {r.Guidance.ToString(CultureInfo.InvariantCulture)}, seed {r.GenerationSeed}, {r.WallSeconds:F1} s",
        };
        foreach (var (name, value) in r.Metrics)
            lines.Add($"  {name}: {value.ToString("G6", CultureInfo.InvariantCulture)}" + (r.Details.TryGetValue(name, out var how) ? $"  ({how})" : ""));
        return lines;
    }
}
