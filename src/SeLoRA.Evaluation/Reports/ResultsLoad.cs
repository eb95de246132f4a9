namespace SeLoRA.Evaluation.Reports;

/// <summary>The runs that have a report to tabulate, and what was left out or looked wrong.</summary>
public sealed record ResultsLoad(IReadOnlyList<ResultsRun> Runs, IReadOnlyList<string> Warnings);
