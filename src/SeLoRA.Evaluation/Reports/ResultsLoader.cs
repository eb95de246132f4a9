namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// Finds run folders and picks the report each contributes: on "test", the final test report (the latest
/// <see cref="EvaluationReport.CompletedUtc"/> when several); on "valid", the final valid report, else the valid report
/// of the best step, else the valid report with the lowest validation loss.
/// </summary>
public static class ResultsLoader
{
    public const string Test = "test";
    public const string Valid = "valid";
    public const string EvaluationsFolder = "evaluations";
    public const string SummaryFile = "summary.json";

    /// <summary>A run folder has summary.json or an evaluations/ folder.</summary>
    public static bool IsRunDirectory(string path) =>
        File.Exists(Path.Combine(path, SummaryFile)) || Directory.Exists(Path.Combine(path, EvaluationsFolder));

    /// <summary>
    /// Each path is a run folder or a folder whose subfolders are runs; the result keeps the given order (subfolders
    /// sorted by name) without duplicates. Errors name the path.
    /// </summary>
    public static IReadOnlyList<string> FindRunDirectories(IEnumerable<string> paths)
    {
        var runs = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (File.Exists(path)) throw new InvalidDataException($"{path}: a file, not a run folder or a folder of runs.");
            if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{path}: no such folder.");
            var found = IsRunDirectory(path)
                ? [path]
                : Directory.GetDirectories(path).Where(IsRunDirectory).Order(StringComparer.Ordinal).ToList();
            if (found.Count == 0)
                throw new InvalidDataException($"{path}: neither a run folder (no {SummaryFile} or {EvaluationsFolder}/) nor a folder of run folders.");
            foreach (var run in found)
                if (seen.Add(Path.GetFullPath(run))) runs.Add(run);
        }
        return runs;
    }

    /// <summary>Every report in &lt;run&gt;/evaluations/*.json; a file that is not a report is an error naming it.</summary>
    public static IReadOnlyList<EvaluationReport> ReadReports(string runDirectory)
    {
        var folder = Path.Combine(runDirectory, EvaluationsFolder);
        if (!Directory.Exists(folder)) return [];
        return Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).Select(EvaluationReport.Read).ToList();
    }

    /// <summary>The report a run contributes on <paramref name="split"/>, or null.</summary>
    public static EvaluationReport? Select(IReadOnlyList<EvaluationReport> reports, string split, long? bestStep = null)
    {
        RequireSplit(split);
        var onSplit = reports.Where(r => string.Equals(r.Split, split, StringComparison.OrdinalIgnoreCase)).ToList();
        if (Latest(onSplit.Where(r => r.Final)) is { } final) return final;
        if (split == Test) return null;
        if (bestStep is { } step && Latest(onSplit.Where(r => r.Step == step)) is { } atBest) return atBest;
        return onSplit.Where(r => r.Metrics.ContainsKey("validation-loss"))
            .OrderBy(r => r.Metrics["validation-loss"]).ThenByDescending(r => r.CompletedUtc).FirstOrDefault();
    }

    /// <summary>
    /// Reads the runs' reports and selects one per run; a run without one is left out with a warning. Empty method,
    /// dataset, seed, parameters or rank in a report are filled from <paramref name="hints"/> (summary.json) when given.
    /// </summary>
    public static ResultsLoad Load(IEnumerable<string> runDirectories, string split = Test, Func<string, RunHints?>? hints = null)
    {
        RequireSplit(split);
        var runs = new List<ResultsRun>();
        var warnings = new List<string>();
        foreach (var directory in runDirectories)
        {
            var hint = hints?.Invoke(directory);
            var report = Select(ReadReports(directory), split, hint?.BestStep);
            if (report is null)
            {
                warnings.Add(split == Test
                    ? $"run {directory} has no final test evaluation: run `selora eval --run {directory}`"
                    : $"run {directory} has no valid evaluation (final, at its best step, or with a validation loss)");
                continue;
            }
            if (hint is not null) report = Fill(report, hint);
            if (string.IsNullOrWhiteSpace(report.Method)) warnings.Add($"run {directory}: its report names no method; listed as \"unknown\"");
            if (string.IsNullOrWhiteSpace(report.Dataset)) warnings.Add($"run {directory}: its report names no dataset; listed as \"unknown\"");
            runs.Add(new ResultsRun(directory, report with
            {
                Method = string.IsNullOrWhiteSpace(report.Method) ? "unknown" : report.Method,
                Dataset = string.IsNullOrWhiteSpace(report.Dataset) ? "unknown" : report.Dataset,
            }));
        }
        return new ResultsLoad(runs, warnings);
    }

    static EvaluationReport Fill(EvaluationReport report, RunHints hint) => report with
    {
        Method = string.IsNullOrWhiteSpace(report.Method) ? hint.Method ?? "" : report.Method,
        Dataset = string.IsNullOrWhiteSpace(report.Dataset) ? hint.Dataset ?? "" : report.Dataset,
        Seed = report.Seed == 0 && hint.Seed is { } seed ? seed : report.Seed,
        TrainableParameters = report.TrainableParameters == 0 && hint.TrainableParameters is { } p ? p : report.TrainableParameters,
        TotalRank = report.TotalRank == 0 && hint.TotalRank is { } r ? r : report.TotalRank,
    };

    static EvaluationReport? Latest(IEnumerable<EvaluationReport> reports) =>
        reports.OrderByDescending(r => r.CompletedUtc).FirstOrDefault();

    static void RequireSplit(string split)
    {
        if (split is not (Test or Valid)) throw new ArgumentException($"split '{split}': expected {Test} or {Valid}.", nameof(split));
    }
}
