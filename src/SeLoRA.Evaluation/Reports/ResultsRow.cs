namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// One (method, dataset) of the results table: its metrics over seeds (each metric counts only the runs that measured
/// it), the trainable parameters (mean, and min/max to show when seeds differ) and the final total rank.
/// </summary>
public sealed record ResultsRow
{
    /// <summary>The method key (lower case, e.g. "selora"); <see cref="MethodName"/> is the paper's spelling.</summary>
    public required string Method { get; init; }

    public required string Dataset { get; init; }

    /// <summary>Seeds of the runs, ascending (a seed repeated by two runs appears twice).</summary>
    public required IReadOnlyList<long> Seeds { get; init; }

    /// <summary>The run folders, in seed order.</summary>
    public required IReadOnlyList<string> Runs { get; init; }

    /// <summary>Metric name to its summary over the runs that measured it.</summary>
    public required IReadOnlyDictionary<string, ResultsCell> Metrics { get; init; }

    public required ResultsCell TrainableParameters { get; init; }
    public required long TrainableParametersMin { get; init; }
    public required long TrainableParametersMax { get; init; }
    public required ResultsCell TotalRank { get; init; }

    public string MethodName => ResultsNaming.MethodDisplayName(Method);

    /// <summary>Runs (seeds) in this row.</summary>
    public int N => Runs.Count;

    public bool TrainableParametersDiffer => TrainableParametersMin != TrainableParametersMax;
}
