using System.Runtime.CompilerServices;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Tests.Commands;

/// <summary>`test count -n N [--delay-ms D]` streams N lines slowly; `test fail`, `test boom`, `test echo` exercise errors and arguments.</summary>
public sealed class TestPalette : ICommandPalette
{
    int executed;

    /// <summary>How many commands reached the palette (to prove refused requests changed nothing).</summary>
    public int Executed => Volatile.Read(ref executed);

    /// <summary>Set when a `test count` saw its cancellation.</summary>
    public TaskCompletionSource CountCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PaletteSpec Spec { get; } = new("test", "Commands for the command host's tests.",
    [
        new CommandSpec("count", "Stream numbers.",
        [
            new CommandArgumentSpec("n", "n", "How many lines.", Mandatory: true),
            new CommandArgumentSpec("delay-ms", "d", "Pause between lines.", Default: "0"),
        ]),
        new CommandSpec("fail", "End with NotFound.", []),
        new CommandSpec("boom", "Throw an unexpected exception.", []),
        new CommandSpec("echo", "Print the arguments as parsed.",
        [
            new CommandArgumentSpec("address", "a", "An address.", Mandatory: true),
            new CommandArgumentSpec("force", "f", "A switch.", IsSwitch: true),
            new CommandArgumentSpec("tag", "t", "Repeatable.", Repeatable: true),
            new CommandArgumentSpec("run", null, "A positional.", Positional: true),
        ]),
    ]);

    public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
    {
        Interlocked.Increment(ref executed);
        switch (invocation.Command)
        {
            case "count":
                if (!int.TryParse(invocation.Get("n"), out var n) || n < 0)
                    throw new CommandException(CommandErrorKind.BadArguments, $"-n must be a non-negative integer, not '{invocation.Get("n")}'");
                var delay = int.Parse(invocation.Get("delay-ms")!);
                for (var i = 1; i <= n; i++)
                {
                    if (delay > 0)
                    {
                        try
                        {
                            await Task.Delay(delay, cancellation);
                        }
                        catch (OperationCanceledException)
                        {
                            CountCancelled.TrySetResult();
                            throw;
                        }
                    }
                    yield return i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                break;
            case "fail":
                throw new CommandException(CommandErrorKind.NotFound, "nothing here");
            case "boom":
                throw new InvalidOperationException("unexpected");
            case "echo":
                yield return $"address={invocation.Get("address")} force={invocation.Has("force")} tags={string.Join(",", invocation.GetAll("tag"))} run={invocation.Get("run")}";
                break;
        }
    }
}
