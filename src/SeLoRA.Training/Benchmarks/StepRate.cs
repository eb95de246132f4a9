using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Benchmarks;

/// <summary>A run's training rate from its metrics.jsonl: between the first and the last step, so set-up is not counted.</summary>
public static class StepRate
{
    public static double ImagesPerSecond(string runDirectory, int batchSize)
    {
        var metrics = JsonLinesLog<StepMetric>.Read(Path.Combine(runDirectory, "metrics.jsonl"));
        if (metrics.Count < 2) throw new InvalidOperationException($"{runDirectory}: fewer than two steps recorded; no rate.");
        return (metrics.Count - 1) * batchSize / (metrics[^1].WallSeconds - metrics[0].WallSeconds);
    }
}
