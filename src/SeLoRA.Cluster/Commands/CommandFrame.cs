using System.Text.Json.Serialization;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// One frame of the command protocol: a JSON object whose "type" says which of the optional fields it carries
/// (see <see cref="CommandFrameTypes"/> and docs/command-protocol.md). Absent fields are not written.
/// </summary>
public sealed record CommandFrame
{
    public required string Type { get; init; }

    /// <summary>Request id chosen by the client (execute, line, end, cancel; error when it concerns one request).</summary>
    public string? Id { get; init; }
    public string? Palette { get; init; }
    public string? Command { get; init; }
    /// <summary>The command's argument tokens, as typed after palette and command.</summary>
    public IReadOnlyList<string>? Args { get; init; }
    public string? Text { get; init; }
    public bool? Ok { get; init; }
    public CommandErrorKind? Kind { get; init; }
    public string? Message { get; init; }

    public int? Protocol { get; init; }
    /// <summary>The node's name, for the client's banner.</summary>
    public string? Node { get; init; }
    /// <summary>hello: "none" or "hmac-sha256".</summary>
    public string? Auth { get; init; }
    /// <summary>hello: the server's challenge, base64 of 32 random bytes.</summary>
    public string? Nonce { get; init; }
    /// <summary>auth: the client's own nonce, so the server proves it knows the secret too.</summary>
    public string? ClientNonce { get; init; }
    /// <summary>auth: base64 HMAC-SHA256 over the nonces (see <see cref="CommandAuthentication"/>).</summary>
    public string? Mac { get; init; }
    /// <summary>auth-ok: the server's HMAC-SHA256 proof.</summary>
    public string? Proof { get; init; }
    public int? IdleTimeoutSeconds { get; init; }
    public int? MaxFrameBytes { get; init; }
    public IReadOnlyList<PaletteSpec>? Palettes { get; init; }

    public static CommandFrame Line(string id, string text) => new() { Type = CommandFrameTypes.Line, Id = id, Text = text };

    public static CommandFrame EndOk(string id) => new() { Type = CommandFrameTypes.End, Id = id, Ok = true };

    public static CommandFrame EndError(string id, CommandErrorKind kind, string message) =>
        new() { Type = CommandFrameTypes.End, Id = id, Ok = false, Kind = kind, Message = message };

    public static CommandFrame Error(CommandErrorKind kind, string message, string? id = null) =>
        new() { Type = CommandFrameTypes.Error, Id = id, Kind = kind, Message = message };

    public static CommandFrame Execute(string id, string palette, string command, IReadOnlyList<string> args) =>
        new() { Type = CommandFrameTypes.Execute, Id = id, Palette = palette, Command = command, Args = args };

    public static CommandFrame CancelRequest(string id) => new() { Type = CommandFrameTypes.Cancel, Id = id };

    [JsonIgnore]
    public bool IsEnd => Type == CommandFrameTypes.End;
}
