using System.Runtime.CompilerServices;

namespace SeLoRA.Cluster.Commands;

/// <summary>The host's own palette: `host ping` and `host palettes`, always present.</summary>
internal sealed class HostPalette(Func<IReadOnlyList<PaletteSpec>> palettes) : ICommandPalette
{
    public const string Name = "host";

    public PaletteSpec Spec { get; } = new(Name, "The command host itself.",
    [
        new CommandSpec("ping", "Answer pong: checks the connection and the host.", []),
        new CommandSpec("palettes", "List the palettes this host serves, with their commands.", []),
    ]);

    public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
    {
        await Task.CompletedTask;
        switch (invocation.Command)
        {
            case "ping":
                yield return "pong";
                break;
            case "palettes":
                foreach (var palette in palettes())
                    yield return $"{palette.Name} | {palette.Description} | {string.Join(", ", palette.Commands.Select(c => c.Name))}";
                break;
            default:
                throw new CommandException(CommandErrorKind.UnknownCommand, $"unknown command 'host {invocation.Command}'");
        }
    }
}
