namespace SeLoRA.Cluster.Commands;

/// <summary>How a command's reply ended: ok, or an error kind and message.</summary>
public sealed record CommandOutcome(bool Ok, CommandErrorKind? Kind = null, string? Message = null)
{
    public static readonly CommandOutcome Success = new(true);

    public static CommandOutcome Failure(CommandErrorKind kind, string message) => new(false, kind, message);
}
