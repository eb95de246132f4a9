using System.Diagnostics;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Torch;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Methods;
using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Training.Benchmarks;

/// <summary>Throughputs in images per second, measured in one process, alternating the variants so drift hits all alike.</summary>
public sealed record TrainThroughput(
    int Steps, int BatchSize, int Rounds,
    double EngineImagesPerSecond, double BareImagesPerSecond,
    double SeLoraImagesPerSecond, double LoraRank1ImagesPerSecond,
    int SeLoraTests, int SeLoraRankStart, int SeLoraRankEnd, int LoraRank)
{
    /// <summary>Bare loop over engine: the engine's overhead (1.00 = none); the figure to watch, aim for at most 1.05.</summary>
    public double EngineOverhead => BareImagesPerSecond / EngineImagesPerSecond;

    /// <summary>SeLoRA's average step cost (expansion tests included) over rank-1 LoRA's.</summary>
    public double SeLoraCostRatio => LoraRank1ImagesPerSecond / SeLoraImagesPerSecond;
}

/// <summary>
/// The measurements behind `selora bench train` on the tiny base and SynthCXR the benchmark generates: the full engine
/// (sampler, latent cache reads, keyed per-sample randomness, metrics written per step) against a bare loop doing the
/// same forward, backward and Adam step on latents held in memory with torch's global generator; then SeLoRA with its
/// expansion tests against rank-1 LoRA, both through the engine. Engine rates come from metrics.jsonl's wall times
/// between the first and the last step, so set-up, validation and checkpoints are not counted.
/// </summary>
public static class TrainBenchmark
{
    public static TrainThroughput Measure(string baseModel, int steps = 120, int batchSize = 8, int rounds = 2, Action<string>? log = null)
    {
        log ??= _ => { };
        TorchRuntime.EnsureLoaded();
        var folder = Directory.CreateTempSubdirectory("selora-bench-train-").FullName;
        try
        {
            var data = Path.Combine(folder, "synthcxr");
            SynthCxrGenerator.Generate(data, 240, 64, seed: 1);
            var common = new TrainingConfig
            {
                BaseModel = baseModel,
                Seed = 1,
                Data = new DataSettings { Dataset = "folder:" + data, Resolution = 64, LatentCache = Path.Combine(folder, "cache") },
                Optimization = new OptimizationSettings { BatchSize = batchSize, Epochs = 0, MaxSteps = steps, Adam = new AdamOptions { LearningRate = 1e-3 } },
                Validation = new ValidationSettings { AtStart = false, EveryEpochs = 1_000_000, MaxSamples = batchSize },
                Generation = new GenerationSettings { Count = 0 },
                Runtime = new RuntimeSettings { Device = "cpu" },
            };
            var noTests = common with { SeLora = new SeLoraConfig { TestInterval = int.MaxValue } };
            var selora = common with { SeLora = new SeLoraConfig() };
            var lora = common with { Method = AdapterMethod.Lora, Lora = new() { Rank = 1, Alpha = 8 } };

            var run = 0;
            (double Rate, RunSummary Summary) Engine(TrainingConfig config, string label)
            {
                var result = TrainingRun.Execute(config with { Name = $"{label}-{run++}" }, new RunOptions { RunsRoot = Path.Combine(folder, "runs") });
                var rate = StepRate.ImagesPerSecond(result.RunDirectory, batchSize);
                log($"{label}: {rate:F1} images/s");
                return (rate, result.Summary);
            }

            var engine = new List<double>();
            var bare = new List<double>();
            var seloraRates = new List<double>();
            var loraRates = new List<double>();
            RunSummary? seloraSummary = null;
            Engine(noTests, "warm-up");
            for (var r = 0; r < rounds; r++)
            {
                engine.Add(Engine(noTests, "engine").Rate);
                bare.Add(Bare(noTests, steps, batchSize, log));
                var s = Engine(selora, "selora");
                seloraRates.Add(s.Rate);
                seloraSummary = s.Summary;
                loraRates.Add(Engine(lora, "lora-r1").Rate);
            }
            return new TrainThroughput(steps, batchSize, rounds, engine.Max(), bare.Max(), seloraRates.Max(), loraRates.Max(),
                steps / new SeLoraConfig().TestInterval, seloraSummary!.TotalRankStart, seloraSummary.TotalRankEnd, seloraSummary.TotalRankStart);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The minimal loop: fixed in-memory latents and prompts, torch's generator for noise and timesteps, Adam.</summary>
    static double Bare(TrainingConfig config, int steps, int batchSize, Action<string> log)
    {
        using var models = StableDiffusionModels.Load(config.BaseModel);
        using var adapters = AdapterSet.Inject(config, models, steps);
        using var optimizer = new AdamOptimizer(adapters.MarkTrainable(), config.Optimization.Adam);
        var scheduler = new DdpmScheduler(SchedulerConfig.FromJsonText(models.SchedulerConfig.ToJsonString()));
        manual_seed(1);
        var size = config.Data.Resolution / models.Vae.Config.DownsampleFactor;
        using var latents = randn(batchSize, models.Vae.Config.LatentChannels, size, size);
        using var ids = models.Tokenizer.EncodeBatch(Enumerable.Range(0, batchSize).Select(i => $"findings: the heart is normal in size {i}").ToList()).ToTensor();
        adapters.Train(true);
        var clock = new Stopwatch();
        for (var step = 0; step <= steps; step++)
        {
            if (step == 1) clock.Start(); // the first step warms caches, as the engine's first step is excluded
            using var scope = NewDisposeScope();
            var noise = randn_like(latents);
            var t = randint(0, scheduler.NumTrainTimesteps, new long[] { batchSize }, ScalarType.Int64);
            var prediction = models.Unet.forward(scheduler.AddNoise(latents, noise, t), t, models.TextEncoder.forward(ids));
            var loss = nn.functional.mse_loss(prediction, noise);
            loss.backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        clock.Stop();
        var rate = steps * batchSize / clock.Elapsed.TotalSeconds;
        log($"bare loop: {rate:F1} images/s");
        return rate;
    }
}
