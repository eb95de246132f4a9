using Akka.Configuration;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;

namespace SeLoRA.Cluster.Benchmarks;

/// <summary>Images per second of one configuration, from metrics.jsonl between the first and the last step.</summary>
public sealed record ClusterStepFigure(string Label, int Workers, double ImagesPerSecond);

/// <summary>
/// The measurements behind `selora bench cluster`: the same tiny SeLoRA run (same global batch) through the plain engine
/// in one process, through the actors with one device worker, and with two, alternating the variants over rounds.
/// </summary>
public static class ClusterBenchmark
{
    public static IReadOnlyList<ClusterStepFigure> MeasureSteps(Config hocon, string baseModel, int steps = 60, int batchSize = 8, int rounds = 2,
        Action<string>? log = null)
    {
        log ??= _ => { };
        var folder = Directory.CreateTempSubdirectory("selora-bench-cluster-").FullName;
        try
        {
            var data = Path.Combine(folder, "synthcxr");
            SynthCxrGenerator.Generate(data, 200, 64, seed: 1);
            var config = new TrainingConfig
            {
                BaseModel = baseModel,
                Seed = 1,
                Data = new DataSettings { Dataset = "folder:" + data, Resolution = 64, LatentCache = Path.Combine(folder, "cache") },
                Optimization = new OptimizationSettings { BatchSize = batchSize, Epochs = 0, MaxSteps = steps, Adam = new AdamOptions { LearningRate = 1e-4 } },
                Validation = new ValidationSettings { AtStart = false, EveryEpochs = 1_000_000, MaxSamples = batchSize },
                Generation = new GenerationSettings { Count = 0 },
                Runtime = new RuntimeSettings { Device = "cpu" },
            };
            var runs = Path.Combine(folder, "runs");
            var n = 0;
            double Rate(RunResult result) => SeLoRA.Training.Benchmarks.StepRate.ImagesPerSecond(result.RunDirectory, batchSize);
            var best = new Dictionary<string, (int Workers, double Rate)>();
            void Keep(string label, int workers, double rate)
            {
                log($"{label}: {rate:F1} images/s");
                if (!best.TryGetValue(label, out var b) || rate > b.Rate) best[label] = (workers, rate);
            }
            TrainingRun.Execute(config with { Name = $"warm-up-{n++}" }, new RunOptions { RunsRoot = runs });
            for (var r = 0; r < rounds; r++)
            {
                Keep("engine, one process", 1, Rate(TrainingRun.Execute(config with { Name = $"engine-{n++}" }, new RunOptions { RunsRoot = runs })));
                Keep("actors, 1 worker", 1, Rate(LocalTraining.Run(hocon, config with { Name = $"actors1-{n++}" }, new RunOptions { RunsRoot = runs })));
                Keep("actors, 2 workers", 2, Rate(LocalTraining.Run(hocon, config with { Name = $"actors2-{n++}", Runtime = config.Runtime with { Workers = 2 } },
                    new RunOptions { RunsRoot = runs })));
            }
            return best.Select(b => new ClusterStepFigure(b.Key, b.Value.Workers, b.Value.Rate)).ToList();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
