using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using SeLoRA.Cluster.Commands;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Runs;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Palettes;

/// <summary>The `train` palette: start, watch, pause, resume and stop runs on the cluster's coordinator.</summary>
public sealed class TrainPalette(ActorSystem system, IActorRef coordinator, SeloraSettings settings, string hoconDirectory) : ICommandPalette
{
    static readonly CommandArgumentSpec Run = new("run", null, "The run's name.", Mandatory: true, Positional: true);
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public PaletteSpec Spec { get; } = new("train", "Training runs: start, list, status, pause, resume, stop, tail, ranks, evals.",
    [
        new("start", "Start a run from a HOCON file (selora.train) on the registered workers.",
            [new("config", "c", "The run's HOCON file (read on this node).", Mandatory: true), new("name", null, "The run's name (overrides selora.train.name).")]),
        new("list", "Every recorded run: name, status, step, total rank.", []),
        new("status", "The coordinator's state, or one run's recorded state.", [Run with { Mandatory = false }]),
        new("pause", "Finish the current step, checkpoint, stop and free the workers' models.", [Run]),
        new("resume", "Continue a paused run from its latest checkpoint.", [Run]),
        new("stop", "End the run after the current step; its results stay.", [Run]),
        new("tail", "Stream a run's steps, losses, validations and expansions until it ends or is cancelled.", [Run]),
        new("ranks", "The run's per-layer ranks.", [Run]),
        new("evals", "The run's recorded evaluations (EvaluationCompleted): step, split, metrics; the final test one marked.", [Run]),
    ]);

    public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
    {
        switch (invocation.Command)
        {
            case "start":
            {
                var path = invocation.Get("config")!;
                if (!File.Exists(path)) throw new CommandException(CommandErrorKind.BadArguments, $"--config {path}: no such file on this node.");
                SeLoRA.Training.Configuration.TrainingConfig config;
                try
                {
                    config = TrainingConfigReader.Read(HoconLoader.Load(hoconDirectory, files: [path]), settings.Torch.Device);
                }
                catch (Exception e) when (e is Akka.Configuration.ConfigurationException or ArgumentException or FormatException)
                {
                    throw new CommandException(CommandErrorKind.BadArguments, $"{path}: {e.Message}");
                }
                if (invocation.Get("name") is { } name) config = config with { Name = name };
                var answer = await coordinator.Ask(new StartTraining(config.ToJson(), settings.DataDirectory), Wait, cancellation).ConfigureAwait(false);
                yield return answer switch
                {
                    TrainingStarted s => $"started run {(s.RunName.Length > 0 ? s.RunName : "(named at start)")} on {s.Workers} worker(s)",
                    TrainingCommandRejected r => throw new CommandException(CommandErrorKind.Conflict, r.Reason),
                    _ => throw new CommandException(CommandErrorKind.Failed, $"unexpected answer {answer.GetType().Name}"),
                };
                break;
            }
            case "list":
            {
                var runs = await coordinator.Ask<RunsListed>(new ListRuns(), Wait, cancellation).ConfigureAwait(false);
                foreach (var r in runs.Runs.OrderBy(r => r.Name, StringComparer.Ordinal))
                    yield return $"{r.Name} | {r.Status} | step {r.Step}/{r.TotalSteps} | total rank {r.TotalRank}";
                yield return $"Count: {runs.Runs.Length} runs";
                break;
            }
            case "status":
            {
                var status = await coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), Wait, cancellation).ConfigureAwait(false);
                if (invocation.Get("run") is { } name)
                {
                    var r = await Details(name, cancellation).ConfigureAwait(false);
                    yield return $"run {r.Name}: {r.Status}, step {r.Step}/{r.TotalSteps}, total rank {r.TotalRank}, " +
                                 $"best validation {(r.BestValidationLoss is { } b ? b.ToString("F5", CultureInfo.InvariantCulture) + $" (step {r.BestStep})" : "none yet")}, " +
                                 $"checkpoints {r.Checkpoints.Count}, resumes {r.Resumes.Count}";
                    if (status.RunName == name) yield return $"coordinator: {status.State} at step {status.Step} on {status.Workers} worker(s)";
                }
                else
                    yield return $"coordinator: {status.State}{(status.RunName is null ? "" : $", run {status.RunName} at step {status.Step}")}, {status.Workers} worker(s) registered";
                break;
            }
            case "pause":
            case "resume":
            case "stop":
            {
                var name = invocation.Get("run")!;
                var status = await coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), Wait, cancellation).ConfigureAwait(false);
                if (status.RunName != name)
                    throw new CommandException(CommandErrorKind.NotFound, $"the coordinator is not training run {name} (its run: {status.RunName ?? "none"}).");
                object command = invocation.Command switch { "pause" => new PauseTraining(), "resume" => new ResumeTraining(), _ => new StopTraining() };
                var answer = await coordinator.Ask(command, TimeSpan.FromMinutes(10), cancellation).ConfigureAwait(false);
                yield return answer switch
                {
                    TrainingStatus s => $"run {name}: {s.State} at step {s.Step}",
                    TrainingStarted s => $"run {name}: resumed on {s.Workers} worker(s)",
                    TrainingCommandRejected r => throw new CommandException(CommandErrorKind.Conflict, r.Reason),
                    _ => throw new CommandException(CommandErrorKind.Failed, $"unexpected answer {answer.GetType().Name}"),
                };
                break;
            }
            case "tail":
            {
                var name = invocation.Get("run")!;
                var channel = Channel.CreateUnbounded<string>();
                var listener = system.ActorOf(Props.Create(() => new RunListener(name, channel.Writer)));
                coordinator.Tell(new SubscribeTraining(listener));
                try
                {
                    await foreach (var line in channel.Reader.ReadAllAsync(cancellation).ConfigureAwait(false)) yield return line;
                }
                finally
                {
                    system.Stop(listener);
                }
                break;
            }
            case "ranks":
            {
                var r = await Details(invocation.Get("run")!, cancellation).ConfigureAwait(false);
                var width = r.Ranks.Keys.DefaultIfEmpty("layer").Max(k => k.Length);
                foreach (var (layer, rank) in r.Ranks) yield return $"{layer.PadRight(width)} {rank,4}";
                yield return $"Layers: {r.Ranks.Count}, total rank {r.TotalRank}";
                break;
            }
            case "evals":
            {
                var r = await Details(invocation.Get("run")!, cancellation).ConfigureAwait(false);
                foreach (var e in r.Evaluations.OrderBy(e => e.Final).ThenBy(e => e.Step))
                    yield return $"step {e.Step} | {e.Split}{(e.Final ? " (final)" : "")} | " +
                                 string.Join(", ", e.Metrics.Select(m => $"{m.Key} {m.Value.ToString("G5", CultureInfo.InvariantCulture)}"));
                yield return $"Count: {r.Evaluations.Count} evaluations";
                break;
            }
            default:
                throw new CommandException(CommandErrorKind.UnknownCommand, $"train has no command '{invocation.Command}'.");
        }
    }

    async Task<RunState> Details(string name, CancellationToken cancellation)
    {
        var details = await coordinator.Ask<RunDetails>(new GetRunDetails(name), Wait, cancellation).ConfigureAwait(false);
        return details.State ?? throw new CommandException(CommandErrorKind.NotFound, $"no run named {name} is recorded; `train list` shows them.");
    }

    /// <summary>Turns one run's training events into lines; completes the stream when the run's session ends.</summary>
    sealed class RunListener : ReceiveActor
    {
        public RunListener(string run, ChannelWriter<string> writer)
        {
            var c = CultureInfo.InvariantCulture;
            Receive<TrainingEventOccurred>(m =>
            {
                var line = m.Event switch
                {
                    StepCompleted s => string.Create(c, $"step {s.Metric.Step}/{s.TotalSteps} loss {s.Metric.Loss:F5} lr {s.Metric.LearningRate:G3} total rank {s.Metric.TotalRank}"),
                    RanksExpanded r => $"step {r.Step}: {r.Changes.Count} layer(s) changed rank; total rank {r.TotalRank}",
                    ValidationCompleted v => string.Create(c, $"validation after step {v.Metric.Step}: {v.Metric.Loss:F5}{(v.Metric.Best ? " (best)" : "")}"),
                    SeLoRA.Training.Engine.CheckpointSaved k when !k.Best => $"checkpoint at step {k.Step}",
                    _ => null,
                };
                if (line is not null) writer.TryWrite(line);
            });
            Receive<TrainingFinished>(f =>
            {
                writer.TryWrite(f.Error is not null ? $"run {f.RunName} failed: {f.Error}"
                    : $"run {f.RunName} {(f.Result!.Completed ? "completed" : f.Stopped ? "stopped" : "paused")} at step {f.Result.Step}");
                writer.TryComplete();
            });
        }
    }
}
