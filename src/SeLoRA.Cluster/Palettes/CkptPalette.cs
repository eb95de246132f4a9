using System.Globalization;
using System.Runtime.CompilerServices;
using SeLoRA.Adapters.Persistence;
using SeLoRA.Cluster.Commands;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Palettes;

/// <summary>The `ckpt` palette: a run's checkpoints, and exporting one in the format PEFT, diffusers or kohya tools load.</summary>
public sealed class CkptPalette(string dataDirectory, ICheckpointMirror? mirror) : ICommandPalette
{
    public PaletteSpec Spec { get; } = new("ckpt", "Checkpoints: list them, export one as PEFT, diffusers or kohya files.",
    [
        new("list", "The run's checkpoints: step, validation loss, best, time.", [new("run", null, "The run's name.", Mandatory: true, Positional: true)]),
        new("export", "Write a checkpoint's adapters for another ecosystem.",
        [
            new("run", null, "The run's name.", Mandatory: true, Positional: true),
            new("step", null, "The checkpoint's step (default: the latest)."),
            new("best", null, "The best checkpoint (lowest validation loss).", IsSwitch: true),
            new("format", null, "peft, diffusers or kohya.", Mandatory: true),
            new("out", null, "Where to write (a folder; a .safetensors file for kohya).", Mandatory: true),
        ]),
    ]);

    public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
    {
        await Task.Yield();
        var run = invocation.Get("run")!;
        if (run.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || run is "." or "..")
            throw new CommandException(CommandErrorKind.BadArguments, $"run {run}: not a run name.");
        var layout = new RunLayout(Path.Combine(dataDirectory, run));
        var store = new CheckpointStore(layout.Checkpoints, 1_000_000);
        switch (invocation.Command)
        {
            case "list":
            {
                var list = store.List();
                var best = store.Best();
                if (list.Count == 0 && best is null) throw new CommandException(CommandErrorKind.NotFound, $"run {run} has no checkpoint under {layout.Checkpoints}.");
                foreach (var c in list)
                    yield return string.Create(CultureInfo.InvariantCulture,
                        $"step {c.Step,8} | validation {(c.State.ValidationLoss is { } v ? v.ToString("F5", CultureInfo.InvariantCulture) : "-"),8} | " +
                        $"{(best?.Step == c.Step ? "best" : "    ")} | total rank {c.State.TotalRank} | {c.State.SavedUtc:yyyy-MM-dd HH:mm:ss}Z");
                if (best is not null && list.All(c => c.Step != best.Step)) yield return $"best: step {best.Step} (its regular checkpoint was pruned)";
                yield return $"Count: {list.Count} checkpoints";
                break;
            }
            case "export":
            {
                AdapterExportFormat format;
                try
                {
                    format = AdapterExport.ParseFormat(invocation.Get("format")!);
                }
                catch (ArgumentException e)
                {
                    throw new CommandException(CommandErrorKind.BadArguments, e.Message);
                }
                var reference = invocation.Has("best") ? CheckpointStore.BestName : invocation.Get("step") ?? "latest";
                if (invocation.Has("best") && invocation.Get("step") is not null)
                    throw new CommandException(CommandErrorKind.BadArguments, "give --step or --best, not both.");
                CheckpointInfo checkpoint;
                try
                {
                    store.Recover();
                    checkpoint = Resolve(store, layout, run, reference);
                }
                catch (FileNotFoundException e)
                {
                    throw new CommandException(CommandErrorKind.NotFound, e.Message);
                }
                var files = AdapterExport.Export(Path.Combine(checkpoint.Directory, CheckpointContents.AdaptersFile), format, invocation.Get("out")!);
                foreach (var f in files) yield return f;
                yield return $"exported step {checkpoint.Step} of run {run} as {format.ToString().ToLowerInvariant()}: {files.Count} file(s)";
                break;
            }
            default:
                throw new CommandException(CommandErrorKind.UnknownCommand, $"ckpt has no command '{invocation.Command}'.");
        }
    }

    CheckpointInfo Resolve(CheckpointStore store, RunLayout layout, string run, string reference)
    {
        try
        {
            return store.Resolve(reference);
        }
        catch (FileNotFoundException) when (mirror is not null && mirror.TryRestore(run, layout.Directory, reference))
        {
            return store.Resolve(reference);
        }
    }
}
