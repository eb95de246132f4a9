using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// The client side of the protocol: connects, authenticates when the host asks, downloads the schema, then runs commands
/// whose lines arrive through a callback. One background task reads frames and routes them by request id, so a cancel
/// can be sent while a reply streams. Used by `selora cmd` and by tests.
/// </summary>
public sealed class CommandClientConnection : IAsyncDisposable
{
    readonly TcpClient client;
    readonly NetworkStream stream;
    readonly int maxFrameBytes;
    readonly SemaphoreSlim writeLock = new(1, 1);
    readonly ConcurrentDictionary<string, Channel<CommandFrame>> replies = new(StringComparer.Ordinal);
    readonly CancellationTokenSource closing = new();
    readonly Timer? keepAlive;
    Task? readLoop;
    long nextId;
    int disposed;

    CommandClientConnection(TcpClient client, int maxFrameBytes, TimeSpan? keepAliveEvery)
    {
        this.client = client;
        stream = client.GetStream();
        this.maxFrameBytes = maxFrameBytes;
        if (keepAliveEvery is { } every)
            keepAlive = new Timer(_ => _ = SendQuietly(new CommandFrame { Type = CommandFrameTypes.Ping }), null, every, every);
    }

    /// <summary>The host's palettes, commands and arguments.</summary>
    public CommandSchema Schema { get; private set; } = new([]);

    /// <summary>The node name the host announced.</summary>
    public string Node { get; private set; } = "";

    /// <summary>Why the connection closed, once it has (an error frame's message or the socket's).</summary>
    public string? ClosedReason { get; private set; }

    public bool IsOpen => ClosedReason is null;

    /// <summary>
    /// Connects and completes the handshake. Throws <see cref="CommandException"/> (Unauthorized when the secret is
    /// missing or wrong, BadRequest for a protocol mismatch) or <see cref="IOException"/>/<see cref="SocketException"/>
    /// when the host cannot be reached.
    /// </summary>
    public static async Task<CommandClientConnection> ConnectAsync(string host, int port, string? secret, TimeSpan timeout,
        CancellationToken cancellation = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(timeout);
        var client = new TcpClient { NoDelay = true };
        try
        {
            try
            {
                await client.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new IOException($"cannot connect to {host}:{port} within {timeout.TotalSeconds:0.#} s");
            }
            var stream = client.GetStream();
            var hello = await ReadHandshakeFrame(stream, deadline.Token, host, port).ConfigureAwait(false);
            if (hello.Type != CommandFrameTypes.Hello)
                throw new CommandException(CommandErrorKind.BadRequest, $"{host}:{port} did not greet with hello (got '{hello.Type}'); is it a selora command host?");
            if (hello.Protocol != CommandFraming.ProtocolVersion)
                throw new CommandException(CommandErrorKind.BadRequest, $"{host}:{port} speaks protocol {hello.Protocol}; this client speaks {CommandFraming.ProtocolVersion}");
            var idle = hello.IdleTimeoutSeconds is > 0 and var s ? TimeSpan.FromSeconds(s / 3.0) : (TimeSpan?)null;
            var connection = new CommandClientConnection(client, Math.Max(hello.MaxFrameBytes ?? 0, CommandFraming.DefaultMaxFrameBytes), idle)
            {
                Node = hello.Node ?? "",
            };
            if (hello.Auth == CommandAuthentication.Scheme)
            {
                if (secret is null)
                    throw new CommandException(CommandErrorKind.Unauthorized,
                        $"{host}:{port} requires authentication: set {CommandAuthentication.SecretVariable} or pass --secret-file");
                var clientNonce = CommandAuthentication.NewNonce();
                await CommandFraming.WriteAsync(stream, new CommandFrame
                {
                    Type = CommandFrameTypes.Auth,
                    ClientNonce = clientNonce,
                    Mac = CommandAuthentication.ClientMac(secret, hello.Nonce ?? "", clientNonce),
                }, deadline.Token).ConfigureAwait(false);
                var answer = await ReadHandshakeFrame(stream, deadline.Token, host, port).ConfigureAwait(false);
                if (answer.Type != CommandFrameTypes.AuthOk)
                    throw new CommandException(answer.Kind ?? CommandErrorKind.Unauthorized, answer.Message ?? $"authentication refused ({answer.Type})");
                if (!CommandAuthentication.Matches(CommandAuthentication.ServerProof(secret, hello.Nonce ?? "", clientNonce), answer.Proof))
                    throw new CommandException(CommandErrorKind.Unauthorized, $"{host}:{port} could not prove it knows the secret; not trusting it");
            }
            else if (hello.Auth != CommandAuthentication.NoAuthentication)
                throw new CommandException(CommandErrorKind.BadRequest, $"{host}:{port} asks for authentication scheme '{hello.Auth}', which this client does not know");
            var schema = await ReadHandshakeFrame(stream, deadline.Token, host, port).ConfigureAwait(false);
            if (schema.Type != CommandFrameTypes.Schema)
                throw new CommandException(schema.Kind ?? CommandErrorKind.BadRequest, schema.Message ?? $"expected the schema, got '{schema.Type}'");
            connection.Schema = new CommandSchema(schema.Palettes ?? []);
            connection.readLoop = Task.Run(connection.ReadLoop);
            return connection;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    static async Task<CommandFrame> ReadHandshakeFrame(NetworkStream stream, CancellationToken cancellation, string host, int port)
    {
        try
        {
            var frame = await CommandFraming.ReadAsync(stream, CommandFraming.DefaultMaxFrameBytes * 16, cancellation).ConfigureAwait(false)
                        ?? throw new IOException($"{host}:{port} closed the connection during the handshake");
            if (frame.Type == CommandFrameTypes.Error)
                throw new CommandException(frame.Kind ?? CommandErrorKind.Failed, frame.Message ?? "error");
            return frame;
        }
        catch (OperationCanceledException)
        {
            throw new IOException($"{host}:{port} did not complete the handshake in time");
        }
    }

    async Task ReadLoop()
    {
        try
        {
            while (true)
            {
                var frame = await CommandFraming.ReadAsync(stream, maxFrameBytes * 16, closing.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    Close("the host closed the connection");
                    return;
                }
                if (frame.Id is { } id && replies.TryGetValue(id, out var channel) && frame.Type is CommandFrameTypes.Line or CommandFrameTypes.End)
                {
                    channel.Writer.TryWrite(frame);
                    continue;
                }
                if (frame.Type == CommandFrameTypes.Error)
                {
                    // Tied to a request: that request fails; otherwise the host is about to close (or refused a frame).
                    var end = CommandFrame.EndError(frame.Id ?? "", frame.Kind ?? CommandErrorKind.Failed, frame.Message ?? "error");
                    if (frame.Id is not null && replies.TryGetValue(frame.Id, out var failed)) failed.Writer.TryWrite(end);
                    else LastError = end;
                }
            }
        }
        catch (Exception e)
        {
            Close(closing.IsCancellationRequested ? "closed" : e.Message);
        }
    }

    /// <summary>The last error frame not tied to a request (e.g. why the host closed the connection).</summary>
    public CommandFrame? LastError { get; private set; }

    void Close(string reason)
    {
        ClosedReason ??= LastError?.Message ?? reason;
        foreach (var channel in replies.Values) channel.Writer.TryComplete();
    }

    /// <summary>
    /// Runs a command, calling <paramref name="onLine"/> for each line, and returns how it ended. Cancelling
    /// <paramref name="cancellation"/> sends a cancel frame and waits for the host's end frame (Cancelled), so the
    /// connection stays usable. Arguments are checked against the schema first (BadArguments and friends without a round trip).
    /// </summary>
    public async Task<CommandOutcome> ExecuteAsync(string palette, string command, IReadOnlyList<string> args, Action<string> onLine,
        CancellationToken cancellation = default, bool validate = true)
    {
        if (validate)
        {
            try
            {
                Schema.Resolve(palette, command, args);
            }
            catch (CommandException e)
            {
                return CommandOutcome.Failure(e.Kind, e.Message);
            }
        }
        if (!IsOpen) throw new IOException($"connection closed: {ClosedReason}");
        var id = Interlocked.Increment(ref nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var channel = Channel.CreateUnbounded<CommandFrame>(new UnboundedChannelOptions { SingleReader = true });
        replies[id] = channel;
        try
        {
            await SendAsync(CommandFrame.Execute(id, palette, command, args)).ConfigureAwait(false);
            using var onCancel = cancellation.Register(() => _ = SendQuietly(CommandFrame.CancelRequest(id)));
            await foreach (var frame in channel.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (frame.Type == CommandFrameTypes.Line) onLine(frame.Text ?? "");
                else if (frame.IsEnd)
                    return frame.Ok == true ? CommandOutcome.Success : CommandOutcome.Failure(frame.Kind ?? CommandErrorKind.Failed, frame.Message ?? "failed");
            }
            throw new IOException($"connection closed before the end of the reply: {ClosedReason}");
        }
        finally
        {
            replies.TryRemove(id, out _);
        }
    }

    /// <summary>Runs a command and collects its lines; for tests and scripts.</summary>
    public async Task<(CommandOutcome Outcome, IReadOnlyList<string> Lines)> ExecuteCollectAsync(string palette, string command,
        params string[] args)
    {
        var lines = new List<string>();
        var outcome = await ExecuteAsync(palette, command, args, lines.Add).ConfigureAwait(false);
        return (outcome, lines);
    }

    async Task SendAsync(CommandFrame frame)
    {
        await writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await CommandFraming.WriteAsync(stream, frame, closing.Token).ConfigureAwait(false);
        }
        finally
        {
            writeLock.Release();
        }
    }

    async Task SendQuietly(CommandFrame frame)
    {
        try
        {
            if (IsOpen) await SendAsync(frame).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        if (keepAlive is not null) await keepAlive.DisposeAsync().ConfigureAwait(false);
        closing.Cancel();
        client.Dispose();
        if (readLoop is not null)
        {
            try { await readLoop.ConfigureAwait(false); } catch (Exception) { }
        }
        closing.Dispose();
    }
}
