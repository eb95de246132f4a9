using System.Diagnostics;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.Reporting;
using SeLoRA.Data.Sampling;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Torch;
using SeLoRA.Torch.Devices;
using SeLoRA.Torch.Randomness;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Methods;
using SeLoRA.Training.Runs;
using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Engine;

/// <summary>
/// One training run, start to finish, without actors: data and latents, adapters, the step loop over the seeded sampler,
/// validation with best-checkpoint selection, atomic checkpoints with retention, bit-exact resume, and at the end the
/// test-prompt images, plots and summary. Every step goes through <see cref="TrainStep"/>, the same step function the
/// cluster's workers run.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    readonly TrainingConfig config;
    readonly RunOptions options;
    readonly Action<TrainingEvent> observe;
    readonly RunLayout layout;
    readonly CheckpointStore store;
    readonly Device device;
    readonly Stopwatch clock = new();
    StableDiffusionModels? models;
    IReplicaGroup? replicas;

    TrainingRun(TrainingConfig config, RunOptions options, RunLayout layout, Device device, Action<TrainingEvent> observe)
    {
        this.config = config;
        this.options = options;
        this.layout = layout;
        this.device = device;
        this.observe = observe;
        store = new CheckpointStore(layout.Checkpoints, config.Checkpoints.Keep);
    }

    /// <summary>Runs (or resumes) a training run until it completes or <see cref="RunOptions.StopAfterStep"/> / cancellation pauses it.</summary>
    public static RunResult Execute(TrainingConfig config, RunOptions? options = null, Action<TrainingEvent>? observe = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new RunOptions();
        TorchRuntime.EnsureLoaded();
        var (layout, resumeFrom, effective) = Locate(config.Validate(), options);
        var device = DevicePicker.Pick(effective.Runtime.Device, "selora.train.device");
        using var run = new TrainingRun(effective, options, layout, device, observe ?? (_ => { }));
        return run.Run(resumeFrom, cancellation);
    }

    /// <summary>The run folder and the checkpoint to resume from (if any), and the config to use; refuses a mismatched resume.</summary>
    static (RunLayout Layout, CheckpointInfo? ResumeFrom, TrainingConfig Config) Locate(TrainingConfig config, RunOptions options)
    {
        if (options.Resume is { } reference)
        {
            RunLayout layout;
            if (Directory.Exists(reference) && File.Exists(Path.Combine(reference, CheckpointState.FileName)))
                layout = RunLayout.OfCheckpoint(reference);
            else if (options.RunDirectory is { } dir) layout = new RunLayout(Path.GetFullPath(dir));
            else if (config.Name.Length > 0) layout = new RunLayout(Path.GetFullPath(Path.Combine(options.RunsRoot, config.Name)));
            else throw new ArgumentException("--resume needs the run: give --run <run folder>, a checkpoint folder, or a config with selora.train.name.");
            var store = new CheckpointStore(layout.Checkpoints, config.Checkpoints.Keep);
            store.Recover();
            // A run whose files live only in the mirror (another machine trained it) comes back from there.
            if (options.Mirror is { } mirror && (!File.Exists(layout.ConfigJson) || !Resolvable(store, reference)))
                mirror.TryRestore(RunNameOf(layout, config), layout.Directory, reference);
            if (!File.Exists(layout.ConfigJson)) throw new FileNotFoundException($"{layout.Directory}: not a run folder (no config.json).", layout.ConfigJson);
            var checkpoint = store.Resolve(reference);
            var saved = TrainingConfig.FromJson(File.ReadAllText(layout.ConfigJson), layout.ConfigJson);
            if (options.ConfigFromRun)
            {
                config = saved with { Runtime = config.Runtime };
            }
            else
            {
                var differences = TrainingConfig.Differences(saved, config);
                if (differences.Count > 0)
                    throw new ResumeRefusedException(
                        $"cannot resume {layout.Directory}: the config differs from the one the run was started with ({layout.ConfigJson}):\n  " +
                        string.Join("\n  ", differences) + "\nResume with the run's own config (omit --config), or start a new run.");
            }
            if (checkpoint.State.ConfigHash != config.Hash)
                throw new ResumeRefusedException($"cannot resume from {checkpoint.Directory}: it was written under config {checkpoint.State.ConfigHash}, this config is {config.Hash}.");
            return (layout, checkpoint, config);
        }

        var name = config.Name.Length > 0 ? config.Name : $"{config.Method.Name()}-seed{config.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var fresh = new RunLayout(Path.GetFullPath(options.RunDirectory ?? Path.Combine(options.RunsRoot, name)));
        var existing = new CheckpointStore(fresh.Checkpoints, 1);
        if (existing.List().Count > 0 || existing.Best() is not null)
            throw new ArgumentException($"{fresh.Directory} already holds a run with checkpoints; continue it with --resume latest, or choose another name (selora.train.name) or --run folder.");
        // A folder without checkpoints is the remains of a run that never saved one: start it afresh.
        foreach (var file in new[] { fresh.Metrics, fresh.Validation, fresh.RankHistory, fresh.SplitManifest, fresh.ConfigJson, fresh.Summary, fresh.SummaryJson })
            if (File.Exists(file)) File.Delete(file);
        return (fresh, null, config with { Name = name });
    }

    static string RunNameOf(RunLayout layout, TrainingConfig config) => config.Name.Length > 0 ? config.Name : Path.GetFileName(layout.Directory);

    static bool Resolvable(CheckpointStore store, string reference)
    {
        try
        {
            store.Resolve(reference);
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    RunResult Run(CheckpointInfo? resumeFrom, CancellationToken cancellation)
    {
        Directory.CreateDirectory(layout.Directory);
        var log = (string message) => observe(new RunProgressed(message));
        log($"run folder {layout.Directory}");

        var baseHash = baseHashCache = BaseModelHash.Compute(config.BaseModel);
        if (resumeFrom is not null && resumeFrom.State.BaseModelHash != baseHash)
            throw new ResumeRefusedException(
                $"cannot resume from {resumeFrom.Directory}: the base model differs. {Path.GetFullPath(config.BaseModel)} hashes to {baseHash}; " +
                $"the run was trained on {resumeFrom.State.BaseModelHash}.");
        if (resumeFrom is null)
        {
            File.WriteAllText(layout.ConfigJson, config.ToJson());
            if (options.ConfigHocon is { } hocon) File.WriteAllText(layout.ConfigHocon, hocon);
        }

        models = StableDiffusionModels.Load(config.BaseModel);
        models.To(device);
        log($"base model {Path.GetFullPath(config.BaseModel)} ({baseHash[..19]}...) on {device}");
        var data = TrainingData.Prepare(config, models, layout, LatentCacheRoot(), log);
        var trainCount = data.UsableTrainIndices.Count;
        var batchSize = config.Optimization.BatchSize;
        var sampler = new ShardedBatchSampler(trainCount, batchSize, config.Seed, dropLast: true);
        if (sampler.BatchesPerEpoch == 0)
            throw new InvalidDataException($"{config.Data.Dataset}: the train split has {trainCount} usable images, fewer than batch-size {batchSize}.");
        var totalSteps = runSteps = TotalSteps(sampler.BatchesPerEpoch);

        var context = new ReplicaGroupContext(config, data, layout, resumeFrom?.Directory, totalSteps, device, models);
        if (options.Replicas is null) models = null; // the local replica owns them
        replicas = (options.Replicas ?? LocalReplicaGroup.Create)(context);
        var usable = data.UsableTrainIndices;

        var state = resumeFrom?.State;
        long current = state?.Step ?? 0;
        if (state is not null)
        {
            // Lines past the checkpoint belong to steps that will run again.
            JsonLinesLog<StepMetric>.TruncateAfter(layout.Metrics, m => m.Step <= current);
            JsonLinesLog<ValidationMetric>.TruncateAfter(layout.Validation, m => m.Step <= current);
            JsonLinesLog<RankChange>.TruncateAfter(layout.RankHistory, m => m.Step <= current);
        }
        var rankStart = resumeFrom is null ? TotalRank() : StartRankOf(layout);
        using var metrics = new JsonLinesLog<StepMetric>(layout.Metrics);
        using var validations = new JsonLinesLog<ValidationMetric>(layout.Validation);
        using var rankLog = new JsonLinesLog<RankChange>(layout.RankHistory);
        var resumes = state is null ? new List<long>() : [.. state.Resumes, current];
        var wallBefore = state?.WallSeconds ?? 0;
        var best = (Loss: state?.BestValidationLoss, Step: state?.BestStep);
        var parametersStart = resumeFrom is null ? TrainableParameters() : (long?)null;

        observe(new RunStarted(config.Name, layout.Directory, current, totalSteps, sampler.BatchesPerEpoch, data.TrainExamples.Count,
            ValidationCount(data), data.TestExamples.Count, TotalRank(), TrainableParameters(), resumeFrom is not null,
            config.ToJson(), config.Hash, baseHash, replicas.Ranks()));
        clock.Start();
        if (resumeFrom is null && config.Validation.AtStart)
        {
            var before = replicas.Validate();
            var metric = new ValidationMetric(0, 0, before, false, 0);
            validations.Append(metric);
            observe(new ValidationCompleted(metric));
        }

        var position = state?.NextPosition ?? SamplerPosition.Start;
        var epoch = state?.Epoch ?? 0;
        var stoppedEarly = false;
        var sessionStart = current;
        foreach (var shard in sampler.Enumerate(position, config.Optimization.Epochs > 0 ? config.Optimization.Epochs : null))
        {
            if (current >= totalSteps) break;
            current++;
            epoch = shard.Position.Epoch;
            var lr = LrSchedule.At(config.Optimization, current, totalSteps);
            var result = replicas.RunStep(shard.Indices.Select(i => usable[i]).ToList(), current);
            var totalRank = TotalRank();
            var wall = wallBefore + clock.Elapsed.TotalSeconds;
            var stepMetric = new StepMetric(current, epoch, result.Loss, lr, totalRank, wall);
            metrics.Append(stepMetric);
            observe(new StepCompleted(stepMetric, totalSteps));
            if (result.Changes.Count > 0)
            {
                foreach (var change in result.Changes) rankLog.Append(change);
                observe(new RanksExpanded(current, result.Changes, totalRank));
            }

            var next = sampler.Next(shard.Position);
            var epochEnd = next.Epoch != shard.Position.Epoch;
            var last = current >= totalSteps || (epochEnd && config.Optimization.Epochs > 0 && next.Epoch >= config.Optimization.Epochs);
            var validate = last
                           || (epochEnd && (epoch + 1) % config.Validation.EveryEpochs == 0)
                           || (config.Validation.EverySteps > 0 && current % config.Validation.EverySteps == 0);
            var pause = options.StopAfterStep is { } stopAt && current >= stopAt && !last;
            var cancelled = cancellation.IsCancellationRequested && !last;
            var checkpoint = validate || last || pause || cancelled
                             || (config.Checkpoints.EverySteps > 0 && current % config.Checkpoints.EverySteps == 0);
            double? validationLoss = null;
            var isBest = false;
            if (validate)
            {
                validationLoss = replicas.Validate();
                isBest = best.Loss is not { } b || validationLoss < b;
                if (isBest) best = (validationLoss, current);
                var metric = new ValidationMetric(current, epoch, validationLoss.Value, isBest, wallBefore + clock.Elapsed.TotalSeconds);
                validations.Append(metric);
                observe(new ValidationCompleted(metric));
            }
            if (checkpoint)
            {
                var saved = SaveCheckpoint(current, epoch, next, lr, validationLoss, best, wallBefore + clock.Elapsed.TotalSeconds, resumes);
                options.Mirror?.Saved(config.Name, layout.Directory, saved, best: false);
                options.Mirror?.Retain(config.Name, store.List().Select(c => c.Step).ToList());
                observe(new CheckpointSaved(current, saved.Directory, false));
                if (isBest)
                {
                    var bestInfo = store.SaveBest(saved);
                    options.Mirror?.Saved(config.Name, layout.Directory, bestInfo, best: true);
                    observe(new CheckpointSaved(current, bestInfo.Directory, true));
                }
            }
            if (last) break;
            if (pause || cancelled)
            {
                stoppedEarly = true;
                break;
            }
        }
        clock.Stop();
        var wallTotal = wallBefore + clock.Elapsed.TotalSeconds;
        var sessionImagesPerSecond = clock.Elapsed.TotalSeconds > 0 ? (current - sessionStart) * batchSize / clock.Elapsed.TotalSeconds : 0;

        var completed = !stoppedEarly;
        var artefacts = new Dictionary<string, string>(StringComparer.Ordinal);
        var notes = new List<string>();
        if (completed) Finish(data, artefacts, notes, log);
        WriteReports(artefacts, log);
        var validationHistory = JsonLinesLog<ValidationMetric>.Read(layout.Validation);
        var summary = new RunSummary
        {
            RunName = config.Name,
            RunDirectory = layout.Directory,
            Method = config.Method.Name(),
            ConfigHash = config.Hash,
            BaseModel = Path.GetFullPath(config.BaseModel),
            BaseModelHash = baseHash,
            Dataset = config.Data.Dataset,
            TrainCount = data.TrainExamples.Count,
            ValidCount = ValidationCount(data),
            TestCount = data.TestExamples.Count,
            Seed = config.Seed,
            Steps = current,
            Epochs = epoch + 1,
            BatchSize = batchSize,
            WallSeconds = wallTotal,
            ImagesPerSecond = sessionImagesPerSecond,
            ValidationLossBefore = validationHistory.FirstOrDefault(v => v.Step == 0)?.Loss,
            ValidationLossBest = best.Loss,
            BestStep = best.Step,
            ValidationLossFinal = validationHistory.LastOrDefault(v => v.Step > 0)?.Loss,
            TrainableParametersStart = parametersStart ?? TrainableParameters(),
            TrainableParametersEnd = TrainableParameters(),
            TotalRankStart = rankStart,
            TotalRankEnd = TotalRank(),
            Expansions = JsonLinesLog<RankChange>.Read(layout.RankHistory),
            RankGroups = RankReport.Create(replicas.Layers()).Summary(),
            Artefacts = artefacts,
            Resumes = resumes,
            Completed = completed,
            Notes = notes,
        };
        SummaryMarkdown.Write(summary, layout.Summary);
        summary.WriteJson(layout.SummaryJson);
        observe(new RunStopped(current, completed, summary));
        return new RunResult(layout.Directory, current, completed, summary);
    }

    long TotalSteps(int stepsPerEpoch)
    {
        var o = config.Optimization;
        var byEpochs = o.Epochs > 0 ? (long)o.Epochs * stepsPerEpoch : long.MaxValue;
        var bySteps = o.MaxSteps > 0 ? o.MaxSteps : long.MaxValue;
        return Math.Min(byEpochs, bySteps);
    }

    string LatentCacheRoot() =>
        config.Data.LatentCache.Length > 0 ? Path.GetFullPath(config.Data.LatentCache) : Path.GetFullPath(Path.Combine(options.RunsRoot, "latent-cache"));

    CheckpointInfo SaveCheckpoint(long step, int epoch, SamplerPosition next, double lr, double? validationLoss,
        (double? Loss, long? Step) best, double wall, IReadOnlyList<long> resumes)
    {
        var state = new CheckpointState
        {
            Step = step,
            Epoch = epoch,
            NextEpoch = next.Epoch,
            NextBatch = next.BatchIndex,
            LrStep = step,
            LearningRate = lr,
            Seed = config.Seed,
            Method = config.Method.Name(),
            ConfigHash = config.Hash,
            BaseModelHash = BaseModelHashOnce(),
            BestValidationLoss = best.Loss,
            BestStep = best.Step,
            ValidationLoss = validationLoss,
            WallSeconds = wall,
            TotalRank = TotalRank(),
            Ranks = replicas!.Ranks(),
            Resumes = resumes,
            SavedUtc = DateTimeOffset.UtcNow,
        };
        return store.Save(step, replicas.WriteCheckpoint, state);
    }

    string? baseHashCache;

    string BaseModelHashOnce() => baseHashCache ??= BaseModelHash.Compute(config.BaseModel);

    int StartRankOf(RunLayout run)
    {
        var first = JsonLinesLog<StepMetric>.Read(run.Metrics).FirstOrDefault();
        var changes = JsonLinesLog<RankChange>.Read(run.RankHistory).Where(c => first is not null && c.Step <= first.Step).Sum(c => c.NewRank - c.OldRank);
        return first is null ? TotalRank() : first.TotalRank - changes;
    }

    /// <summary>The best checkpoint's adapters exported, its images for the test prompts, and the comparison grid.</summary>
    void Finish(TrainingData data, Dictionary<string, string> artefacts, List<string> notes, Action<string> log)
    {
        var best = store.Best();
        if (best is null)
        {
            notes.Add("No validation ran, so there is no best checkpoint; the final weights are used.");
            return;
        }
        Directory.CreateDirectory(layout.BestAdapters);
        var exported = Path.Combine(layout.BestAdapters, SeLoRA.Adapters.Persistence.AdapterFile.DiffusersWeightsFileName);
        File.Copy(Path.Combine(best.Directory, CheckpointContents.AdaptersFile), exported, overwrite: true);
        artefacts["best adapters (diffusers/PEFT LoRA)"] = Path.GetRelativePath(layout.Directory, exported);

        var count = config.Generation.Count < 0 ? data.TestExamples.Count : Math.Min(config.Generation.Count, data.TestExamples.Count);
        if (count == 0)
        {
            notes.Add("No test prompts were generated (generation.count = 0, or the split has no test part).");
            return;
        }
        var examples = data.TestExamples.Take(count).ToList();
        log($"generating {count} test image(s) with the best checkpoint (step {best.Step}): {config.Generation.Steps} {config.Generation.Scheduler} steps, guidance {config.Generation.Guidance}");
        using var bestModels = StableDiffusionModels.Load(config.BaseModel);
        bestModels.To(device);
        using var bestAdapters = AdapterSet.Inject(config, bestModels, TotalStepsForAllocator());
        CheckpointContents.LoadAdapters(best.Directory, bestAdapters);
        bestAdapters.Train(false);
        var pipeline = new StableDiffusionPipeline(bestModels, device);
        if (Directory.Exists(layout.Samples)) Directory.Delete(layout.Samples, recursive: true);
        var paths = pipeline.GenerateToFolder(new GenerationRequest
        {
            Prompts = examples.Select(e => e.Prompt).ToList(),
            Steps = config.Generation.Steps,
            Guidance = config.Generation.Guidance,
            Seed = config.Generation.Seed,
            Height = config.Data.Resolution,
            Width = config.Data.Resolution,
            BatchSize = config.Generation.BatchSize,
            Scheduler = config.Generation.Scheduler,
        }, layout.Samples);
        artefacts["test images"] = Path.GetRelativePath(layout.Directory, layout.Samples) + "/";
        ComparisonGrid.Save(examples.Select((e, i) => new GridItem(e.Prompt, e.ImagePath, paths[i])).ToList(), layout.SampleGrid);
        artefacts["sample grid"] = Path.GetRelativePath(layout.Directory, layout.SampleGrid);
    }

    long runSteps;

    long TotalStepsForAllocator() => runSteps;

    void WriteReports(Dictionary<string, string> artefacts, Action<string> log)
    {
        var steps = JsonLinesLog<StepMetric>.Read(layout.Metrics);
        var validations = JsonLinesLog<ValidationMetric>.Read(layout.Validation);
        if (steps.Count > 0)
        {
            LossCurvePlot.Save(steps, validations, layout.LossCurve, $"{config.Name}: {config.Method.Name()}");
            artefacts["loss curve"] = Path.GetRelativePath(layout.Directory, layout.LossCurve);
        }
        var report = RankReport.Create(replicas!.Layers());
        report.WriteCsv(layout.RankTable);
        artefacts["rank table"] = Path.GetRelativePath(layout.Directory, layout.RankTable);
        RankHeatmap.SavePng(report, layout.RankHeatmap);
        artefacts["rank heat map"] = Path.GetRelativePath(layout.Directory, layout.RankHeatmap);
        artefacts["metrics"] = Path.GetRelativePath(layout.Directory, layout.Metrics);
        artefacts["rank history"] = Path.GetRelativePath(layout.Directory, layout.RankHistory);
        artefacts["checkpoints"] = Path.GetRelativePath(layout.Directory, layout.Checkpoints) + "/";
        log($"plots in {layout.Plots}");
    }

    int TotalRank() => replicas!.Layers().Sum(l => l.Rank);

    long TrainableParameters() => replicas!.Layers().Sum(l => l.TrainableParameters);

    int ValidationCount(TrainingData data) =>
        config.Validation.MaxSamples > 0 ? Math.Min(config.Validation.MaxSamples, data.UsableValidIndices.Count) : data.UsableValidIndices.Count;

    public void Dispose()
    {
        replicas?.Dispose();
        models?.Dispose();
    }
}
