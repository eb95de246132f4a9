namespace SeLoRA.Cluster.Commands;

/// <summary>
/// A palette of commands served by the command host. Its reply is a stream of lines; throwing
/// <see cref="CommandException"/> ends it with an error of that kind, any other exception with <see cref="CommandErrorKind.Failed"/>.
/// The cancellation token fires when the client cancels (Ctrl-C) or disconnects: stop promptly.
/// </summary>
public interface ICommandPalette
{
    PaletteSpec Spec { get; }

    IAsyncEnumerable<string> Execute(CommandInvocation invocation, CancellationToken cancellation);
}
