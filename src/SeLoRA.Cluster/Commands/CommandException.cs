namespace SeLoRA.Cluster.Commands;

/// <summary>Ends a command's reply with an error of the given kind; the message is shown to the operator as is.</summary>
public sealed class CommandException(CommandErrorKind kind, string message) : Exception(message)
{
    public CommandErrorKind Kind { get; } = kind;
}
