namespace SeLoRA.Cluster.Commands;

/// <summary>Why a command's reply ended in error; travels by name on the wire.</summary>
public enum CommandErrorKind
{
    /// <summary>The frame itself was malformed, oversized or out of place.</summary>
    BadRequest,
    UnknownPalette,
    UnknownCommand,
    /// <summary>Arguments that do not fit the command's spec (the message names the argument).</summary>
    BadArguments,
    NotFound,
    Conflict,
    /// <summary>Not authenticated, or the authentication failed.</summary>
    Unauthorized,
    /// <summary>The command ran and failed.</summary>
    Failed,
    /// <summary>The client cancelled the command.</summary>
    Cancelled,
}
