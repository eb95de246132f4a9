namespace SeLoRA.Cluster.Commands;

/// <summary>The values of a frame's "type" field (see docs/command-protocol.md).</summary>
public static class CommandFrameTypes
{
    /// <summary>Server, first frame: protocol version, whether authentication is needed, the challenge nonce.</summary>
    public const string Hello = "hello";
    /// <summary>Client: the response to the challenge.</summary>
    public const string Auth = "auth";
    /// <summary>Server: authentication accepted, with the server's proof that it knows the secret too.</summary>
    public const string AuthOk = "auth-ok";
    /// <summary>Server: the palettes, commands and arguments; sent once the connection may run commands.</summary>
    public const string Schema = "schema";
    /// <summary>Client: run a command.</summary>
    public const string Execute = "execute";
    /// <summary>Server: one line of a command's reply.</summary>
    public const string Line = "line";
    /// <summary>Server: the final marker of a command's reply, ok or an error kind and message.</summary>
    public const string End = "end";
    /// <summary>Client: cancel a running command; its end frame follows.</summary>
    public const string Cancel = "cancel";
    /// <summary>Server: an error not tied to a running command (malformed frame, unauthorized).</summary>
    public const string Error = "error";
    /// <summary>Client: keep-alive.</summary>
    public const string Ping = "ping";
    /// <summary>Server: the answer to ping.</summary>
    public const string Pong = "pong";
}
