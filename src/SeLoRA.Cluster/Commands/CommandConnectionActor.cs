using System.Net.Sockets;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// One client connection. The actor owns the session's state (authenticated or not, the commands running); a reader task
/// turns bytes into frames and waits for the actor to handle each before reading the next (backpressure), and a writer
/// task sends what the actor and the running commands queue. Command output never passes through the mailbox: each
/// running command writes its lines to the queue itself, within a per-connection credit so a client that stops reading
/// stalls its commands instead of filling memory.
/// </summary>
internal sealed class CommandConnectionActor : ReceiveActor, IWithTimers
{
    sealed record FrameArrived(byte[] Body);
    sealed record ReadFailed(string Reason, bool Oversized);
    sealed record WriterDone;
    sealed record CommandDone(string Id);
    sealed record AuthDeadline;

    readonly record struct Outgoing(byte[] Bytes, bool Credited, bool CloseAfter);

    const int LineCredits = 256;
    const int MaxControlBacklog = 1024;

    readonly ILoggingAdapter log = Context.GetLogger();
    readonly Socket socket;
    readonly NetworkStream stream;
    readonly CommandHostSettings settings;
    readonly CommandSchema schema;
    readonly IReadOnlyDictionary<string, ICommandPalette> palettes;
    readonly string remote;
    readonly Channel<Outgoing> outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    readonly SemaphoreSlim credits = new(LineCredits);
    readonly SemaphoreSlim readPermit = new(0);
    readonly CancellationTokenSource closing = new();
    readonly Dictionary<string, CancellationTokenSource> running = new(StringComparer.Ordinal);
    readonly string nonce = CommandAuthentication.NewNonce();
    bool authenticated;
    bool closingDown;
    int controlBacklog;

    public ITimerScheduler Timers { get; set; } = null!;

    public CommandConnectionActor(Socket socket, CommandHostSettings settings, CommandSchema schema, IReadOnlyDictionary<string, ICommandPalette> palettes)
    {
        this.socket = socket;
        this.settings = settings;
        this.schema = schema;
        this.palettes = palettes;
        remote = socket.RemoteEndPoint?.ToString() ?? "?";
        stream = new NetworkStream(socket, ownsSocket: true);
        authenticated = settings.Secret is null;

        Receive<FrameArrived>(arrived =>
        {
            try
            {
                Handle(arrived.Body);
            }
            finally
            {
                if (!closingDown) readPermit.Release();
            }
        });
        Receive<ReadFailed>(failed =>
        {
            if (failed.Oversized)
            {
                // The rest of the frame cannot be skipped safely: answer, then close.
                Send(CommandFrame.Error(CommandErrorKind.BadRequest, failed.Reason + "; closing the connection"));
                CloseAfterFlush();
            }
            else
            {
                Context.Stop(Self);
            }
        });
        Receive<CommandDone>(done =>
        {
            if (running.Remove(done.Id, out var cancel)) cancel.Dispose();
        });
        Receive<AuthDeadline>(_ =>
        {
            if (authenticated) return;
            Send(CommandFrame.Error(CommandErrorKind.Unauthorized, "authentication timed out"));
            CloseAfterFlush();
        });
        Receive<ReceiveTimeout>(_ =>
        {
            if (running.Count > 0 || closingDown) return;
            log.Info("command host: closing idle connection from {0}", remote);
            Send(CommandFrame.Error(CommandErrorKind.Cancelled, $"idle for {settings.IdleTimeout}; closing the connection"));
            CloseAfterFlush();
        });
        Receive<WriterDone>(_ => Context.Stop(Self));
    }

    protected override void PreStart()
    {
        try
        {
            Greet();
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    void Greet()
    {
        var self = Self;
        Send(new CommandFrame
        {
            Type = CommandFrameTypes.Hello,
            Protocol = CommandFraming.ProtocolVersion,
            Node = settings.NodeName,
            Auth = authenticated ? CommandAuthentication.NoAuthentication : CommandAuthentication.Scheme,
            Nonce = authenticated ? null : nonce,
            IdleTimeoutSeconds = (int)Math.Min(int.MaxValue, settings.IdleTimeout.TotalSeconds),
            MaxFrameBytes = settings.MaxFrameBytes,
        });
        if (authenticated) SendSchema();
        else Timers.StartSingleTimer("auth", new AuthDeadline(), settings.AuthTimeout);
        Context.SetReceiveTimeout(settings.IdleTimeout);
        _ = Task.Run(() => ReadLoop(self));
        _ = Task.Run(() => WriteLoop(self));
        readPermit.Release();
    }

    protected override void PostStop()
    {
        closingDown = true;
        foreach (var cancel in running.Values) cancel.Cancel();
        closing.Cancel();
        outgoing.Writer.TryComplete();
        // Half-close, then close a moment later: closing at once with unread input makes the kernel send RST, and the
        // client could lose the error frame that explains why.
        try { socket.Shutdown(SocketShutdown.Send); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        var closed = stream;
        _ = Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => closed.Dispose(), TaskScheduler.Default);
    }

    async Task ReadLoop(IActorRef self)
    {
        try
        {
            while (true)
            {
                await readPermit.WaitAsync(closing.Token).ConfigureAwait(false);
                var body = await CommandFraming.ReadBodyAsync(stream, settings.MaxFrameBytes, closing.Token).ConfigureAwait(false);
                if (body is null)
                {
                    self.Tell(new ReadFailed("closed by the client", false));
                    return;
                }
                self.Tell(new FrameArrived(body));
            }
        }
        catch (Exception) when (closing.IsCancellationRequested)
        {
            // The actor stopped first.
        }
        catch (InvalidDataException e)
        {
            self.Tell(new ReadFailed(e.Message, true));
        }
        catch (Exception e)
        {
            self.Tell(new ReadFailed(e.Message, false));
        }
    }

    async Task WriteLoop(IActorRef self)
    {
        try
        {
            await foreach (var item in outgoing.Reader.ReadAllAsync(closing.Token).ConfigureAwait(false))
            {
                await stream.WriteAsync(item.Bytes, closing.Token).ConfigureAwait(false);
                if (item.Credited) credits.Release();
                else Interlocked.Decrement(ref controlBacklog);
                if (item.CloseAfter) break;
            }
        }
        catch (Exception)
        {
            // The connection is gone; the actor stops below.
        }
        if (!closing.IsCancellationRequested) self.Tell(new WriterDone());
    }

    void Send(CommandFrame frame)
    {
        if (closingDown) return;
        if (Interlocked.Increment(ref controlBacklog) > MaxControlBacklog)
        {
            log.Warning("command host: {0} does not read its replies; closing the connection", remote);
            Context.Stop(Self);
            return;
        }
        outgoing.Writer.TryWrite(new Outgoing(CommandFraming.Encode(frame), false, false));
    }

    void CloseAfterFlush()
    {
        if (closingDown) return;
        closingDown = true;
        foreach (var cancel in running.Values) cancel.Cancel();
        outgoing.Writer.TryWrite(new Outgoing([], false, true));
        Interlocked.Increment(ref controlBacklog);
        outgoing.Writer.TryComplete();
    }

    void SendSchema() => Send(new CommandFrame { Type = CommandFrameTypes.Schema, Palettes = schema.Palettes });

    void Handle(byte[] body)
    {
        CommandFrame frame;
        try
        {
            frame = CommandFraming.Decode(body);
        }
        catch (CommandException e)
        {
            if (!authenticated)
            {
                Refuse();
                return;
            }
            Send(CommandFrame.Error(e.Kind, e.Message));
            return;
        }

        if (!authenticated)
        {
            if (frame.Type == CommandFrameTypes.Auth) Authenticate(frame);
            else Refuse();
            return;
        }
        switch (frame.Type)
        {
            case CommandFrameTypes.Execute:
                Execute(frame);
                break;
            case CommandFrameTypes.Cancel:
                // Cancelling a command that already ended is not an error: the end frame crossed the cancel.
                if (frame.Id is not null && running.TryGetValue(frame.Id, out var cancel)) cancel.Cancel();
                break;
            case CommandFrameTypes.Ping:
                Send(new CommandFrame { Type = CommandFrameTypes.Pong, Id = frame.Id });
                break;
            case CommandFrameTypes.Auth:
                Send(CommandFrame.Error(CommandErrorKind.BadRequest, "already authenticated"));
                break;
            default:
                Send(CommandFrame.Error(CommandErrorKind.BadRequest, $"unknown frame type '{Truncate(frame.Type, 40)}'", frame.Id));
                break;
        }
    }

    void Refuse()
    {
        log.Warning("command host: unauthenticated frame from {0}; closing the connection", remote);
        Send(CommandFrame.Error(CommandErrorKind.Unauthorized, "authenticate first; closing the connection"));
        CloseAfterFlush();
    }

    void Authenticate(CommandFrame frame)
    {
        var secret = settings.Secret!;
        if (frame.ClientNonce is not { Length: > 0 and <= 256 } clientNonce ||
            !CommandAuthentication.Matches(CommandAuthentication.ClientMac(secret, nonce, clientNonce), frame.Mac))
        {
            log.Warning("command host: authentication failed from {0}", remote);
            Send(CommandFrame.Error(CommandErrorKind.Unauthorized, "authentication failed; closing the connection"));
            CloseAfterFlush();
            return;
        }
        authenticated = true;
        Send(new CommandFrame { Type = CommandFrameTypes.AuthOk, Proof = CommandAuthentication.ServerProof(secret, nonce, clientNonce) });
        SendSchema();
    }

    void Execute(CommandFrame frame)
    {
        if (frame.Id is not { Length: > 0 and <= 64 } id)
        {
            Send(CommandFrame.Error(CommandErrorKind.BadRequest, "execute needs an id of 1 to 64 characters"));
            return;
        }
        if (running.ContainsKey(id))
        {
            Send(CommandFrame.Error(CommandErrorKind.BadRequest, $"request '{id}' is already running", id));
            return;
        }
        if (running.Count >= settings.MaxConcurrentCommands)
        {
            Send(CommandFrame.EndError(id, CommandErrorKind.Conflict, $"{settings.MaxConcurrentCommands} commands already running on this connection"));
            return;
        }
        CommandInvocation invocation;
        try
        {
            if (string.IsNullOrEmpty(frame.Palette) || string.IsNullOrEmpty(frame.Command))
                throw new CommandException(CommandErrorKind.BadRequest, "execute needs a palette and a command");
            invocation = schema.Resolve(frame.Palette, frame.Command, frame.Args ?? []);
        }
        catch (CommandException e)
        {
            Send(CommandFrame.EndError(id, e.Kind, e.Message));
            return;
        }
        var palette = palettes[invocation.Palette];
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(closing.Token);
        running[id] = cancel;
        log.Debug("command host: {0} runs {1} {2} ({3})", remote, invocation.Palette, invocation.Command, id);
        var self = Self;
        _ = Task.Run(() => Run(palette, invocation, id, cancel.Token, self));
    }

    async Task Run(ICommandPalette palette, CommandInvocation invocation, string id, CancellationToken cancellation, IActorRef self)
    {
        CommandFrame? end = null;
        try
        {
            var maxText = Math.Max(256, settings.MaxFrameBytes / 4 - 256);
            await foreach (var line in palette.Execute(invocation, cancellation).WithCancellation(cancellation).ConfigureAwait(false))
            {
                await credits.WaitAsync(cancellation).ConfigureAwait(false);
                // Four UTF-8 bytes per char at most, plus the envelope: never over the frame limit.
                var frame = CommandFrame.Line(id, line.Length > maxText ? line[..maxText] + "…" : line);
                if (!outgoing.Writer.TryWrite(new Outgoing(CommandFraming.Encode(frame), true, false))) return;
            }
            end = CommandFrame.EndOk(id);
        }
        catch (CommandException e)
        {
            end = CommandFrame.EndError(id, e.Kind, e.Message);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            end = CommandFrame.EndError(id, CommandErrorKind.Cancelled, $"{invocation.Palette} {invocation.Command} cancelled");
        }
        catch (Exception e)
        {
            log.Error(e, "command host: {0} {1} failed", invocation.Palette, invocation.Command);
            end = CommandFrame.EndError(id, CommandErrorKind.Failed, $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            // The end frame is queued before the id is freed, so a reused id never interleaves with the old reply.
            if (end is not null)
            {
                Interlocked.Increment(ref controlBacklog);
                outgoing.Writer.TryWrite(new Outgoing(CommandFraming.Encode(end), false, false));
            }
            if (!closing.IsCancellationRequested) self.Tell(new CommandDone(id));
        }
    }

    static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
