using System.CommandLine;
using SeLoRA.Cluster.Evaluators;
using SeLoRA.Torch.Devices;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Engine;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora eval`: one checkpoint of a run (settings from selora.eval), and `selora eval fid` for two image folders.</summary>
public static class EvalCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("eval",
            "Evaluate a run's checkpoint: generate images for the split's prompts and measure selora.eval.metrics against its real images. " +
            "The best checkpoint on test is the run's final result (what `selora results` tabulates).");
        var run = new Option<string>("--run") { Description = "A run folder, or a run name under selora.data-dir.", Required = true };
        var checkpoint = new Option<string>("--checkpoint") { Description = "best, latest, or a step number.", DefaultValueFactory = _ => "best" };
        var split = new Option<string>("--split") { Description = "test or valid.", DefaultValueFactory = _ => TrainingData.Test };
        var metrics = new Option<string[]>("--metrics")
        {
            Description = $"Metrics instead of selora.eval.metrics: {string.Join(", ", EvaluationSettings.KnownMetrics)} (comma-separated or repeated).",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        var count = new Option<int?>("--count") { Description = "Prompts of the split to evaluate (the first ones); -1: all." };
        var steps = new Option<int?>("--steps") { Description = "Denoising steps (default: selora.eval.steps, else the run's)." };
        var guidance = new Option<double?>("--guidance") { Description = "Guidance scale (default: selora.eval.guidance, else the run's)." };
        var features = new Option<string?>("--features") { Description = "resnet18 or inception:<weights file> (overrides selora.eval.features)." };
        var clip = new Option<string?>("--clip-model") { Description = "A Hugging Face CLIP folder (overrides selora.eval.clip-model)." };
        var device = new Option<string?>("--device") { Description = "auto, cpu, cuda or cuda:N (overrides selora.eval.device)." };
        foreach (var option in new Option[] { run, checkpoint, split, metrics, count, steps, guidance, features, clip, device })
            command.Options.Add(option);
        command.Subcommands.Add(EvalFidCommand.Create(console));
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var (config, settings) = ConfigOptions.Load(parse);
            var evaluation = EvaluationSettings.FromConfig(config);
            var splitName = parse.GetValue(split)!;
            if (splitName is not (TrainingData.Test or TrainingData.Valid))
                throw new UsageException($"--split: expected test or valid, got '{splitName}'.");
            var chosen = (parse.GetValue(metrics) ?? []).SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            foreach (var m in chosen)
                if (!EvaluationSettings.KnownMetrics.Contains(m))
                    throw new UsageException($"--metrics: '{m}' is not a metric; use {string.Join(", ", EvaluationSettings.KnownMetrics)}.");
            var featureSpec = parse.GetValue(features);
            if (featureSpec is not null && featureSpec != "resnet18" && !featureSpec.StartsWith("inception:", StringComparison.Ordinal))
                throw new UsageException($"--features: expected resnet18 or inception:<weights file>, got '{featureSpec}'.");
            if (parse.GetValue(count) is { } c && c != -1 && c < 2)
                throw new UsageException($"--count: -1 (all) or at least 2 (a covariance needs two images), got {c}.");
            evaluation = evaluation with
            {
                Metrics = chosen.Count > 0 ? chosen : evaluation.Metrics,
                ValidCount = splitName == TrainingData.Valid ? parse.GetValue(count) ?? evaluation.ValidCount : evaluation.ValidCount,
                TestCount = splitName == TrainingData.Test ? parse.GetValue(count) ?? evaluation.TestCount : evaluation.TestCount,
                Steps = parse.GetValue(steps) ?? evaluation.Steps,
                Guidance = parse.GetValue(guidance) ?? evaluation.Guidance,
                Features = featureSpec ?? evaluation.Features,
                ClipModel = parse.GetValue(clip) ?? evaluation.ClipModel,
            };

            var folder = ResolveRun(parse.GetValue(run)!, settings.DataDirectory);
            var store = new CheckpointStore(new RunLayout(folder).Checkpoints, 1);
            var reference = parse.GetValue(checkpoint)!;
            var info = store.Resolve(reference);
            var deviceName = parse.GetValue(device) ?? (evaluation.Device.Length > 0 ? evaluation.Device : settings.Torch.Device);
            if (settings.Torch.Threads > 0) SeLoRA.Torch.TorchRuntime.SetThreads(settings.Torch.Threads);
            using var evaluator = new CheckpointEvaluator(evaluation, DevicePicker.Pick(deviceName, "--device"), line => console.WriteLine(line));
            // The best checkpoint on test is the run's result, as the evaluator actors record it after training.
            var report = evaluator.Evaluate(new EvaluationTarget(folder, info.Directory, splitName, Final: reference == CheckpointStore.BestName && splitName == TrainingData.Test));
            foreach (var line in EvaluationLines.Describe(report)) console.WriteLine(line);
            console.WriteLine($"Report: {Path.Combine(new RunLayout(folder).Evaluations, SeLoRA.Evaluation.Reports.EvaluationReport.FileName(report.CheckpointName, report.Split))}");
            return 0;
        }));
        return command;
    }

    /// <summary>A folder as given, else a run name under the data directory; the error names both places.</summary>
    static string ResolveRun(string run, string dataDirectory)
    {
        if (Directory.Exists(run)) return Path.GetFullPath(run);
        var named = Path.Combine(dataDirectory, run);
        if (Directory.Exists(named)) return Path.GetFullPath(named);
        throw new DirectoryNotFoundException($"--run {run}: neither a folder nor a run under {Path.GetFullPath(dataDirectory)}.");
    }
}
