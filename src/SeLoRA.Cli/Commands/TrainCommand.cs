using System.CommandLine;
using Akka.Configuration;
using SeLoRA.Cli.Progress;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora train` and `selora quickstart`: fine-tune a diffusion model with SeLoRA or a baseline.</summary>
public static class TrainCommand
{
    /// <summary>The experiment the quickstart runs: the tiny pretrained base on freshly generated SynthCXR.</summary>
    public const string QuickstartExperiment = "experiments/synthcxr-selora";

    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("train", "Fine-tune a diffusion model (selora.train in the layered HOCON: -c FILE, --overlay experiments/NAME).");
        var (run, resume, stopAfter, device, noProgress) = AddOptions(command);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var (config, settings) = ConfigOptions.Load(parse);
            var configGiven = (parse.GetValue(ConfigOptions.Files) ?? []).Length + (parse.GetValue(ConfigOptions.Overlays) ?? []).Length > 0;
            return Train(console, config, settings, parse.GetValue(run), parse.GetValue(resume), parse.GetValue(stopAfter),
                parse.GetValue(device), parse.GetValue(noProgress), configFromRun: !configGiven && parse.GetValue(resume) is not null, nameOverride: null);
        }));
        return command;
    }

    public static Command CreateQuickstart(IAnsiConsole console)
    {
        var command = new Command("quickstart",
            "Fine-tune the pretrained tiny base with SeLoRA on freshly generated SynthCXR (a few minutes on 2 CPU cores), then show what happened.");
        var (run, _, stopAfter, device, noProgress) = AddOptions(command, withResume: false);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var directory = HoconLoader.LocateDirectory();
            var overlays = new[] { QuickstartExperiment }.Concat(parse.GetValue(ConfigOptions.Overlays) ?? []).ToArray();
            var config = HoconLoader.Load(directory, overlays, parse.GetValue(ConfigOptions.Files) ?? []);
            var settings = SeloraSettings.From(config);
            return Train(console, config, settings, parse.GetValue(run), null, parse.GetValue(stopAfter), parse.GetValue(device),
                parse.GetValue(noProgress), configFromRun: false, nameOverride: $"quickstart-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        }));
        return command;
    }

    static (Option<string?> Run, Option<string?> Resume, Option<long?> StopAfter, Option<string?> Device, Option<bool> NoProgress) AddOptions(Command command, bool withResume = true)
    {
        var run = new Option<string?>("--run") { Description = "The run folder (default: <selora.data-dir>/<selora.train.name>)." };
        var resume = new Option<string?>("--resume") { Description = "Continue a run: latest, best, a step number, or a checkpoint folder. Without -c/--overlay the run's own config is used." };
        var stopAfter = new Option<long?>("--stop-after") { Description = "Checkpoint and stop after this step (continue later with --resume latest)." };
        var device = new Option<string?>("--device") { Description = "auto, cpu, cuda or cuda:N (overrides selora.train.device)." };
        var noProgress = new Option<bool>("--no-progress") { Description = "Plain log lines instead of a live progress bar." };
        command.Options.Add(run);
        if (withResume) command.Options.Add(resume);
        command.Options.Add(stopAfter);
        command.Options.Add(device);
        command.Options.Add(noProgress);
        return (run, resume, stopAfter, device, noProgress);
    }

    /// <summary>A resume without -c/--overlay continues with the config the run was started with.</summary>
    static TrainingConfig RunConfig(string? run, string resume, SeloraSettings settings)
    {
        var layout = Directory.Exists(resume) && File.Exists(Path.Combine(resume, SeLoRA.Training.Checkpoints.CheckpointState.FileName))
            ? RunLayout.OfCheckpoint(resume)
            : run is not null ? new RunLayout(Path.GetFullPath(run))
            : throw new UsageException("--resume without -c/--overlay needs the run: give --run <run folder> (or a checkpoint folder to --resume).");
        if (!File.Exists(layout.ConfigJson)) throw new UsageException($"{layout.Directory}: not a run folder (no config.json).");
        var saved = TrainingConfig.FromJson(File.ReadAllText(layout.ConfigJson), layout.ConfigJson);
        return saved with { Runtime = saved.Runtime with { Device = settings.Torch.Device } };
    }

    static int Train(IAnsiConsole console, Config config, SeloraSettings settings, string? run, string? resume, long? stopAfter,
        string? device, bool noProgress, bool configFromRun, string? nameOverride)
    {
        if (settings.Torch.Threads > 0) SeLoRA.Torch.TorchRuntime.SetThreads(settings.Torch.Threads);
        var training = configFromRun ? RunConfig(run, resume!, settings) : TrainingConfigReader.Read(config, settings.Torch.Device);
        if (device is not null) training = training with { Runtime = training.Runtime with { Device = device } };
        if (nameOverride is not null) training = training with { Name = nameOverride };
        var options = new RunOptions
        {
            RunsRoot = settings.DataDirectory,
            RunDirectory = run,
            Resume = resume,
            ConfigFromRun = configFromRun,
            StopAfterStep = stopAfter,
            ConfigHocon = config.GetConfig("selora.train").Root.ToString(),
        };
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancel.IsCancellationRequested) return; // a second Ctrl-C ends the process at once
            e.Cancel = true;
            cancel.Cancel();
            console.MarkupLine("[yellow]stopping after this step (with a checkpoint); press Ctrl-C again to kill[/]");
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var interactive = !noProgress && console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
            var view = new TrainingProgressView(console, interactive, training.Runtime.LogEverySeconds);
            // Through the actors: a coordinator and the configured device workers in this process.
            var result = view.Run(observe => SeLoRA.Cluster.Coordination.LocalTraining.Run(config, training, options, observe, cancel.Token, settings: settings,
                evaluation: SeLoRA.Cluster.Evaluators.EvaluationSettings.FromConfig(config)));
            var writer = console.Profile.Out.Writer;
            writer.WriteLine();
            foreach (var line in SummaryMarkdown.ConsoleLines(result.Summary)) writer.WriteLine(line);
            foreach (var line in SeLoRA.Cluster.Evaluators.EvaluationLines.Final(result.RunDirectory)) writer.WriteLine(line);
            writer.WriteLine($"Run folder: {result.RunDirectory}");
            if (!result.Completed) writer.WriteLine($"paused at step {result.Step}; continue with: selora train --resume latest --run {result.RunDirectory}");
            return cancel.IsCancellationRequested ? 130 : 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
