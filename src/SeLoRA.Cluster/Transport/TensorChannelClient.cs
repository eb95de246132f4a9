using System.Collections.Concurrent;
using System.Net.Sockets;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// Sends tensor frames to channel servers. Connections are kept per endpoint and reused; concurrent sends to one endpoint
/// each take their own connection. A send runs on a dedicated thread with blocking writes straight from the caller's
/// memory, and completes only once the receiver has verified count and checksum.
/// </summary>
public sealed class TensorChannelClient : IDisposable
{
    readonly ConcurrentDictionary<string, ConcurrentBag<NetworkStream>> idle = new();
    readonly TimeSpan connectTimeout;
    readonly TimeSpan answerTimeout;
    readonly int socketBufferBytes;
    volatile bool disposed;

    public TensorChannelClient(TimeSpan connectTimeout, TimeSpan answerTimeout, int socketBufferBytes = 0)
    {
        this.connectTimeout = connectTimeout;
        this.answerTimeout = answerTimeout;
        this.socketBufferBytes = socketBufferBytes;
    }

    /// <summary>Sends one buffer; target names the peer in error messages (its Akka address).</summary>
    public Task SendAsync(TensorChannelEndpoint endpoint, Guid transferId, ReadOnlyMemory<float> data, string sender, string target,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (data.Length > TensorFrame.MaxElements)
            throw new ArgumentException($"transfer {transferId}: {data.Length:N0} floats exceed one frame ({TensorFrame.MaxElements:N0}).", nameof(data));
        return Task.Factory.StartNew(() => Send(endpoint, transferId, data, sender, target, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    void Send(TensorChannelEndpoint endpoint, Guid transferId, ReadOnlyMemory<float> data, string sender, string target, CancellationToken cancellationToken)
    {
        var header = new TensorFrameHeader(transferId, data.Length, sender);
        ulong checksum = 0;
        var key = endpoint.ToString();
        var where = $"{target} (tensor channel {endpoint})";
        long sent = 0;
        var phase = "connecting";
        NetworkStream? stream = null;
        // A pooled connection the peer closed meanwhile is usually seen by TryTakeIdle; one that fails before any payload byte left gets one retry.
        for (var attempt = 0; ; attempt++)
        {
            var pooled = TryTakeIdle(key, out stream);
            try
            {
                stream ??= Connect(endpoint, cancellationToken);
                using var cancel = cancellationToken.Register(s => ((NetworkStream)s!).Socket.Dispose(), stream);
                phase = "sending the header";
                TensorFrame.WriteHeader(stream, header);
                phase = "sending the payload";
                checksum = TensorFrame.WritePayload(stream, data.Span, written => sent = written);
                phase = "waiting for the receiver's verification";
                var verdict = TensorFrame.ReadStatus(stream, transferId);
                cancellationToken.ThrowIfCancellationRequested();
                ReturnIdle(key, stream);
                if (verdict != TensorFrameStatus.Completed) throw Refused(transferId, verdict, where, header, checksum);
                return;
            }
            catch (Exception e) when (e is not TensorTransferException && e is IOException or SocketException or ObjectDisposedException or InvalidDataException)
            {
                stream?.Dispose();
                stream = null;
                if (cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
                if (pooled && sent == 0 && attempt == 0) continue;
                throw new TensorTransferException(transferId,
                    $"transfer {transferId} to {where}: failed while {phase}, after {TensorInbox.Describe(sent, header.PayloadBytes)}: {e.Message}", e);
            }
        }
    }

    NetworkStream Connect(TensorChannelEndpoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (socketBufferBytes > 0) socket.SendBufferSize = socketBufferBytes;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(connectTimeout);
            try
            {
                socket.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"no connection within {connectTimeout.TotalSeconds:0.#} s");
            }
            // A receiver that stops reading or never answers surfaces as an IOException after this long, not a hang.
            socket.ReceiveTimeout = socket.SendTimeout = (int)Math.Min(int.MaxValue, answerTimeout.TotalMilliseconds);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    static TensorTransferException Refused(Guid transferId, TensorFrameStatus status, string where, in TensorFrameHeader header, ulong checksum) =>
        new(transferId, status switch
        {
            TensorFrameStatus.DuplicateTransfer => $"transfer {transferId}: refused by {where}: a transfer with this id is already arriving or waiting there.",
            TensorFrameStatus.TooLarge => $"transfer {transferId}: refused by {where}: {header.ElementCount:N0} floats exceed its limit.",
            TensorFrameStatus.ChecksumMismatch => $"transfer {transferId}: refused by {where}: checksum mismatch on arrival ({header.PayloadBytes:N0} bytes, XXH64 0x{checksum:X16} sent).",
            _ => $"transfer {transferId}: refused by {where}: {status}.",
        });

    bool TryTakeIdle(string key, out NetworkStream? stream)
    {
        stream = null;
        if (!idle.TryGetValue(key, out var bag)) return false;
        while (bag.TryTake(out stream))
        {
            // An idle connection has nothing to read; readable means the peer closed it (or sent garbage).
            if (!stream.Socket.Poll(0, SelectMode.SelectRead)) return true;
            stream.Dispose();
        }
        stream = null;
        return false;
    }

    void ReturnIdle(string key, NetworkStream stream)
    {
        if (disposed) { stream.Dispose(); return; }
        idle.GetOrAdd(key, _ => []).Add(stream);
    }

    /// <summary>Closes idle connections to an endpoint (its node went away or moved).</summary>
    public void Forget(TensorChannelEndpoint endpoint)
    {
        if (idle.TryRemove(endpoint.ToString(), out var bag))
            while (bag.TryTake(out var stream)) stream.Dispose();
    }

    public void Dispose()
    {
        disposed = true;
        foreach (var bag in idle.Values)
            while (bag.TryTake(out var stream)) stream.Dispose();
        idle.Clear();
    }
}
