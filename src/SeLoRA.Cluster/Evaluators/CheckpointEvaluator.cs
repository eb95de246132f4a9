using System.Diagnostics;
using SeLoRA.Data.Datasets;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Data.Splits;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Evaluation.Reports;
using SeLoRA.Torch;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Methods;
using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>
/// Evaluates one checkpoint: loads the base model with the checkpoint's adapters, generates seeded images for the
/// split's prompts, measures the metrics against the split's real images, and writes
/// &lt;run&gt;/evaluations/&lt;checkpoint&gt;-&lt;split&gt;.json with the images beside it. Metric networks are kept
/// between evaluations; one instance is used by one thread at a time.
/// </summary>
public sealed class CheckpointEvaluator : IDisposable
{
    readonly EvaluationSettings settings;
    readonly Device device;
    readonly Action<string> log;
    readonly Dictionary<string, ICheckpointMetric> metrics = new(StringComparer.Ordinal);
    // A run's split does not change between its checkpoints; opening a dataset reads (and may probe) every item.
    readonly Dictionary<(string Run, string Split), IReadOnlyList<TextImageExample>> splits = [];

    public CheckpointEvaluator(EvaluationSettings settings, Device device, Action<string>? log = null)
    {
        this.settings = settings ?? throw new ArgumentNullException(nameof(settings));
        this.device = device;
        this.log = log ?? (_ => { });
    }

    public EvaluationSettings Settings => settings;

    /// <summary>Evaluates <paramref name="target"/> and writes its report; returns the report.</summary>
    public EvaluationReport Evaluate(EvaluationTarget target, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        TorchRuntime.EnsureLoaded();
        var clock = Stopwatch.StartNew();
        var layout = new RunLayout(Path.GetFullPath(target.RunDirectory));
        if (!File.Exists(layout.ConfigJson))
            throw new FileNotFoundException($"{layout.ConfigJson}: not a run folder (no config.json).", layout.ConfigJson);
        var config = TrainingConfig.FromJson(File.ReadAllText(layout.ConfigJson), layout.ConfigJson);
        var state = CheckpointState.Read(Path.Combine(target.CheckpointDirectory, CheckpointState.FileName));
        var checkpointName = Path.GetFileName(Path.GetFullPath(target.CheckpointDirectory).TrimEnd('/'));
        if (checkpointName == CheckpointStore.BestName) checkpointName = CheckpointStore.NameOf(state.Step);

        var spec = DatasetSpec.Parse(config.Data.Dataset);
        if (!splits.TryGetValue((layout.Directory, target.Split), out var all))
            splits[(layout.Directory, target.Split)] = all = SplitExamples(layout, spec, target.Split);
        var examples = all.ToList();
        var count = target.Split == TrainingData.Test ? settings.TestCount : settings.ValidCount;
        if (count >= 0) examples = examples.Take(count).ToList();
        if (examples.Count < 2)
            throw new InvalidDataException($"{layout.SplitManifest}: the {target.Split} split has {examples.Count} example(s); an evaluation needs at least 2.");
        var synthCxr = File.Exists(Path.Combine(spec.Folder, SynthCxrGenerator.LabelsFileName));
        var measured = MetricsFor(synthCxr, target.Split);
        if (measured.Count == 0)
            throw new ArgumentException($"selora.eval.metrics = [{string.Join(", ", settings.Metrics)}] measures nothing on the {target.Split} split " +
                                        "(validation-loss is training's, on valid only); add fd-resnet18, fid, clip-score or finding-accuracy.");

        var steps = settings.Steps > 0 ? settings.Steps : config.Generation.Steps;
        var guidance = settings.Guidance >= 0 ? settings.Guidance : config.Generation.Guidance;
        var imagesFolder = Path.Combine(layout.Evaluations, $"{checkpointName}-{target.Split}");
        log($"evaluating {config.Name} {checkpointName} on {examples.Count} {target.Split} prompt(s): {steps} {config.Generation.Scheduler} steps, guidance {guidance}");
        var (generated, parameters, totalRank) = Generate(config, target.CheckpointDirectory, state, examples, steps, guidance, imagesFolder, cancellation);

        var inputs = new MetricInputs(examples, generated, Path.GetFullPath(spec.Folder), synthCxr, state, target.Split, layout.Directory);
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var details = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in measured)
        {
            cancellation.ThrowIfCancellationRequested();
            Metric(name).Measure(inputs, values, details, cancellation);
        }

        var report = new EvaluationReport
        {
            RunName = config.Name,
            Method = config.Method.Name(),
            Dataset = DatasetName(spec, synthCxr),
            Seed = config.Seed,
            Step = state.Step,
            CheckpointName = checkpointName,
            TrainableParameters = parameters,
            TotalRank = totalRank,
            Final = target.Final,
            Split = target.Split,
            Metrics = values,
            Details = details,
            GeneratedCount = generated.Count,
            RealCount = examples.Count,
            InferenceSteps = steps,
            Guidance = guidance,
            GenerationSeed = settings.Seed,
            Resolution = config.Data.Resolution,
            Samples = examples.Select((e, i) => new EvaluationSample(e.Id, e.Prompt, e.ImagePath, Path.GetRelativePath(layout.Directory, generated[i]))).ToList(),
            WallSeconds = clock.Elapsed.TotalSeconds,
            CompletedUtc = DateTimeOffset.UtcNow,
        };
        var path = Path.Combine(layout.Evaluations, EvaluationReport.FileName(checkpointName, target.Split));
        AtomicFile.WriteAllText(path, report.ToJson());
        log($"evaluated {config.Name} {checkpointName} ({target.Split}) in {clock.Elapsed.TotalSeconds:F1} s: " +
            string.Join(", ", values.Select(v => $"{v.Key} {v.Value:G5}")));
        return report;
    }

    /// <summary>A name that is the same on every machine (results group runs by it): the kind, or the folder for image folders.</summary>
    public static string DatasetName(DatasetSpec spec, bool synthCxr) =>
        synthCxr ? "synthcxr" : spec.Kind == "folder" ? Path.GetFileName(Path.GetFullPath(spec.Folder).TrimEnd('/')) : spec.Kind;

    IReadOnlyList<string> MetricsFor(bool synthCxr, string split)
    {
        var names = settings.MetricsFor(synthCxr).ToList();
        if (split == TrainingData.Valid && !names.Contains(MetricNames.ValidationLoss)) names.Add(MetricNames.ValidationLoss);
        if (split != TrainingData.Valid) names.Remove(MetricNames.ValidationLoss);
        return names;
    }

    static List<TextImageExample> SplitExamples(RunLayout layout, DatasetSpec spec, string split)
    {
        var dataset = DatasetFactory.Open(spec);
        var parts = SplitManifest.Read(layout.SplitManifest).Apply(dataset.Examples, layout.SplitManifest);
        if (!parts.Parts.TryGetValue(split, out var examples))
            throw new InvalidDataException($"{layout.SplitManifest}: the run's split has no '{split}' part ({string.Join(", ", parts.Names)}).");
        return examples.ToList();
    }

    (IReadOnlyList<string> Paths, long Parameters, int TotalRank) Generate(TrainingConfig config, string checkpointDirectory, CheckpointState state,
        IReadOnlyList<TextImageExample> examples, int steps, double guidance, string folder, CancellationToken cancellation)
    {
        using var models = StableDiffusionModels.Load(config.BaseModel);
        models.To(device);
        var totalSteps = Math.Max(state.Step, config.AdaLora.TInit + config.AdaLora.TFinal + 1);
        using var adapters = AdapterSet.Inject(config, models, totalSteps);
        CheckpointContents.LoadAdapters(checkpointDirectory, adapters);
        adapters.Train(false);
        cancellation.ThrowIfCancellationRequested();

        // Written beside and renamed into place, so a half-finished evaluation never leaves images that look complete.
        var partial = folder + ".partial";
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        var pipeline = new StableDiffusionPipeline(models, device);
        var written = pipeline.GenerateToFolder(new GenerationRequest
        {
            Prompts = examples.Select(e => e.Prompt).ToList(),
            Steps = steps,
            Guidance = guidance,
            Seed = settings.Seed,
            Height = config.Data.Resolution,
            Width = config.Data.Resolution,
            BatchSize = settings.BatchSize,
            Scheduler = config.Generation.Scheduler,
        }, partial, new BatchLog(log, examples.Count));
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.Move(partial, folder);
        var paths = written.Select(p => Path.Combine(folder, Path.GetFileName(p))).ToList();
        return (paths, adapters.TrainableParameterCount, adapters.TotalRank);
    }

    /// <summary>A line per finished batch, at most every 10 s (and the last one), so a long SD1.5 evaluation shows progress.</summary>
    sealed class BatchLog(Action<string> log, int total) : IProgress<GenerationProgress>
    {
        readonly Stopwatch clock = Stopwatch.StartNew();
        TimeSpan last = TimeSpan.Zero;

        public void Report(GenerationProgress value)
        {
            if (value.Step < value.Steps) return;
            var done = value.First + value.Count;
            if (done < total && clock.Elapsed - last < TimeSpan.FromSeconds(10)) return;
            last = clock.Elapsed;
            log($"generated {done}/{total} evaluation image(s) in {clock.Elapsed.TotalSeconds:F0} s");
        }
    }

    ICheckpointMetric Metric(string name)
    {
        if (metrics.TryGetValue(name, out var metric)) return metric;
        metric = CheckpointMetrics.Create(name, settings, device, log);
        metrics[name] = metric;
        return metric;
    }

    public void Dispose()
    {
        foreach (var metric in metrics.Values) metric.Dispose();
        metrics.Clear();
    }
}
