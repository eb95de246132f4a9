namespace SeLoRA.Training.Engine;

/// <summary>Where a run keeps its files.</summary>
public sealed record RunLayout(string Directory)
{
    public string ConfigJson => Path.Combine(Directory, "config.json");
    public string ConfigHocon => Path.Combine(Directory, "config.hocon");
    public string SplitManifest => Path.Combine(Directory, "split.json");
    public string Metrics => Path.Combine(Directory, "metrics.jsonl");
    public string Validation => Path.Combine(Directory, "validation.jsonl");
    public string RankHistory => Path.Combine(Directory, "ranks.jsonl");
    public string RankTable => Path.Combine(Directory, "ranks.csv");
    public string Checkpoints => Path.Combine(Directory, "checkpoints");
    public string Samples => Path.Combine(Directory, "samples");
    public string Plots => Path.Combine(Directory, "plots");
    public string LossCurve => Path.Combine(Plots, "loss.png");
    public string RankHeatmap => Path.Combine(Plots, "rank-heatmap.png");
    public string SampleGrid => Path.Combine(Plots, "samples.png");
    public string Summary => Path.Combine(Directory, "summary.md");
    public string SummaryJson => Path.Combine(Directory, "summary.json");
    public string Evaluations => Path.Combine(Directory, "evaluations");
    public string BestAdapters => Path.Combine(Directory, "adapters");

    /// <summary>The run folder of a checkpoint folder (&lt;run&gt;/checkpoints/&lt;checkpoint&gt;).</summary>
    public static RunLayout OfCheckpoint(string checkpointDirectory) =>
        new(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpointDirectory).TrimEnd('/'))!)!);
}
