using System.Diagnostics;
using System.Runtime.CompilerServices;
using SeLoRA.Cluster.Commands;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Workers;

namespace SeLoRA.Cluster.Palettes;

/// <summary>The `node` palette: this node's device workers and its recent log.</summary>
public sealed class NodePalette(WorkerStatusBoard board, RecentLogSink? log) : ICommandPalette
{
    public PaletteSpec Spec { get; } = new("node", "This node: its device workers and its recent log lines.",
    [
        new("workers", "Each device worker: device, run, step, what it is doing; then this process's memory.", []),
        new("log", "Recent log lines of this node.",
        [
            new("action", null, "peek", Mandatory: true, Positional: true),
            new("lines", "n", "How many lines.", Default: "50"),
        ]),
    ]);

    public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
    {
        await Task.Yield();
        switch (invocation.Command)
        {
            case "workers":
            {
                var workers = board.All();
                foreach (var w in workers)
                    yield return $"{w.Worker} | {w.Device} | {(w.Run is null ? "idle (no model held)" : $"run {w.Run}")} | step {w.Step} | {w.Phase}";
                using var process = Process.GetCurrentProcess();
                yield return $"Count: {workers.Count} workers; process memory {process.WorkingSet64 / (1024.0 * 1024):F0} MiB resident, " +
                             $"managed heap {GC.GetTotalMemory(false) / (1024.0 * 1024):F0} MiB";
                break;
            }
            case "log":
            {
                if (invocation.Get("action") != "peek") throw new CommandException(CommandErrorKind.BadArguments, "node log: the only action is peek.");
                if (!int.TryParse(invocation.Get("lines") ?? "50", out var count) || count < 1)
                    throw new CommandException(CommandErrorKind.BadArguments, $"--lines {invocation.Get("lines")}: a positive count.");
                if (log is null) throw new CommandException(CommandErrorKind.NotFound, "this node keeps no log lines in memory.");
                foreach (var line in log.Tail(count)) yield return line;
                break;
            }
            default:
                throw new CommandException(CommandErrorKind.UnknownCommand, $"node has no command '{invocation.Command}'.");
        }
    }
}
