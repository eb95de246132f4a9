using System.Net;
using System.Net.Sockets;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// Listens for tensor frames and files complete, verified buffers in an inbox. Each connection is served by its own
/// background thread with blocking reads straight into the destination float[]: no copies, and nothing of this touches
/// Akka's remoting connection, so heartbeats never queue behind gradient bytes.
/// </summary>
public sealed class TensorChannelServer : IDisposable
{
    readonly TcpListener listener;
    readonly TensorInbox inbox;
    readonly long maxElements;
    readonly Action<string>? log;
    readonly CancellationTokenSource stopping = new();
    readonly HashSet<Socket> connections = [];
    readonly Task acceptLoop;

    public TensorChannelServer(IPAddress bindAddress, int port, TensorInbox inbox, long maxElements = TensorFrame.MaxElements,
        int socketBufferBytes = 0, Action<string>? log = null)
    {
        this.inbox = inbox;
        this.maxElements = Math.Min(maxElements, TensorFrame.MaxElements);
        this.log = log;
        listener = new TcpListener(bindAddress, port);
        // Set before listening: accepted sockets inherit it, and the window scale is fixed at the handshake.
        if (socketBufferBytes > 0) listener.Server.ReceiveBufferSize = socketBufferBytes;
        try
        {
            listener.Start(backlog: 64);
        }
        catch (SocketException e)
        {
            throw new IOException($"tensor channel: cannot listen on {bindAddress}:{port}: {e.Message}", e);
        }
        EndPoint = (IPEndPoint)listener.LocalEndpoint;
        acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where it listens; the port is the real one when 0 (ephemeral) was asked for.</summary>
    public IPEndPoint EndPoint { get; }

    public TensorInbox Inbox => inbox;

    async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                log?.Invoke($"tensor channel {EndPoint}: accept failed: {e.Message}");
                continue;
            }
            socket.NoDelay = true;
            lock (connections)
            {
                if (stopping.IsCancellationRequested) { socket.Dispose(); return; }
                connections.Add(socket);
            }
            new Thread(() => Serve(socket)) { IsBackground = true, Name = $"tensor-channel {socket.RemoteEndPoint}" }.Start();
        }
    }

    void Serve(Socket socket)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        using var stream = new NetworkStream(socket, ownsSocket: true);
        TensorInbox.Arrival? arrival = null;
        TensorFrameHeader header = default;
        try
        {
            while (true)
            {
                var next = TensorFrame.ReadHeader(stream);
                if (next == null) return;
                header = next.Value;
                if (header.ElementCount < 0 || header.ElementCount > maxElements)
                {
                    // The payload that follows cannot be trusted or is not wanted: answer, then drop the connection.
                    TensorFrame.WriteStatus(stream, header.ElementCount < 0 ? TensorFrameStatus.BadHeader : TensorFrameStatus.TooLarge, header.TransferId);
                    log?.Invoke($"tensor channel {EndPoint}: refused transfer {header.TransferId} of {header.ElementCount:N0} floats from {header.Sender} ({remote}); limit {maxElements:N0}.");
                    return;
                }
                arrival = inbox.Begin(header, remote);
                if (arrival == null)
                {
                    // No handshake before the payload (it would cost a round trip per transfer): skip it, then refuse.
                    TensorFrame.SkipPayload(stream, header.ElementCount);
                    TensorFrame.WriteStatus(stream, TensorFrameStatus.DuplicateTransfer, header.TransferId);
                    continue;
                }
                var data = GC.AllocateUninitializedArray<float>(checked((int)header.ElementCount));
                var check = TensorFrame.ReadPayload(stream, data, arrival.Progress);
                if (!check.Intact)
                {
                    arrival.Fail($"checksum mismatch: XXH64 0x{check.Computed:X16} of the {header.PayloadBytes:N0} bytes received, " +
                                 $"0x{check.Announced:X16} announced by {header.Sender} ({remote}); the buffer was refused.");
                    arrival = null;
                    TensorFrame.WriteStatus(stream, TensorFrameStatus.ChecksumMismatch, header.TransferId);
                    continue;
                }
                arrival.Complete(data);
                arrival = null;
                TensorFrame.WriteStatus(stream, TensorFrameStatus.Completed, header.TransferId);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidDataException or ObjectDisposedException)
        {
            if (arrival != null)
                arrival.Fail($"connection from {header.Sender} ({remote}) lost after " +
                             $"{TensorInbox.Describe(arrival.BytesReceived, header.PayloadBytes)}: {e.Message}");
            else if (e is InvalidDataException)
                log?.Invoke($"tensor channel {EndPoint}: dropped connection from {remote}: {e.Message}");
        }
        finally
        {
            lock (connections) connections.Remove(socket);
        }
    }

    public void Dispose()
    {
        if (stopping.IsCancellationRequested) return;
        stopping.Cancel();
        listener.Stop();
        lock (connections)
        {
            foreach (var socket in connections) socket.Dispose();
            connections.Clear();
        }
        try { acceptLoop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        stopping.Dispose();
    }
}
