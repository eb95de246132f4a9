using System.Diagnostics;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// Buffers arriving on this node, by transfer id. A buffer may arrive before or after its ReceiveAsync; whichever comes first
/// creates the entry. Unclaimed buffers (and failures nobody awaited) are dropped after the retention period.
/// </summary>
public sealed class TensorInbox
{
    readonly object gate = new();
    readonly Dictionary<Guid, Entry> entries = new();
    readonly TimeSpan retention;

    public TensorInbox(TimeSpan retention) => this.retention = retention;

    /// <summary>Transfers currently known (arriving, waiting to be claimed, or awaited).</summary>
    public int Count { get { lock (gate) return entries.Count; } }

    /// <summary>Waits for the complete, verified buffer of a transfer. expectedFrom only improves the timeout message.</summary>
    public async Task<float[]> ReceiveAsync(Guid transferId, TimeSpan timeout, string? expectedFrom = null, CancellationToken cancellationToken = default)
    {
        Entry entry;
        lock (gate)
        {
            if (!entries.TryGetValue(transferId, out entry!))
                entries[transferId] = entry = new Entry();
            if (entry.Awaited)
                throw new InvalidOperationException($"transfer {transferId} is already being received by another caller.");
            entry.Awaited = true;
        }
        var clock = Stopwatch.StartNew();
        try
        {
            var result = await entry.Completion.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            Remove(transferId, entry);
            return result;
        }
        catch (TimeoutException)
        {
            var error = TimedOut(transferId, entry, clock.Elapsed, expectedFrom);
            Remove(transferId, entry);
            throw error;
        }
        catch
        {
            Remove(transferId, entry);
            throw;
        }
    }

    /// <summary>Drops a transfer nobody will claim (a run that was abandoned).</summary>
    public bool Discard(Guid transferId)
    {
        lock (gate) return entries.Remove(transferId);
    }

    internal Arrival? Begin(in TensorFrameHeader header, string remote)
    {
        lock (gate)
        {
            Sweep();
            if (entries.TryGetValue(header.TransferId, out var entry))
            {
                if (entry.State is State.Arriving or State.Complete) return null;
                if (entry.State == State.Failed)
                    entries[header.TransferId] = entry = new Entry(); // a retry after a failed attempt starts over
            }
            else
            {
                entries[header.TransferId] = entry = new Entry();
            }
            entry.State = State.Arriving;
            entry.Sender = header.Sender;
            entry.Remote = remote;
            entry.BytesExpected = header.PayloadBytes;
            return new Arrival(this, header.TransferId, entry);
        }
    }

    /// <summary>A buffer this node sends to itself: no wire, but the same bookkeeping.</summary>
    internal bool DeliverLocal(Guid transferId, float[] data, string sender)
    {
        var arrival = Begin(new TensorFrameHeader(transferId, data.Length, sender), "in-process");
        if (arrival == null) return false;
        arrival.Progress((long)data.Length * sizeof(float));
        arrival.Complete(data);
        return true;
    }

    void Remove(Guid transferId, Entry entry)
    {
        lock (gate)
        {
            if (entries.TryGetValue(transferId, out var current) && ReferenceEquals(current, entry))
                entries.Remove(transferId);
        }
    }

    void Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        List<Guid>? stale = null;
        foreach (var (id, entry) in entries)
        {
            if (entry.Awaited || entry.State is State.Waiting or State.Arriving) continue;
            if (Stopwatch.GetElapsedTime(entry.FinishedAt, now) > retention) (stale ??= []).Add(id);
        }
        foreach (var id in stale ?? []) entries.Remove(id);
    }

    TensorTransferTimeoutException TimedOut(Guid id, Entry entry, TimeSpan waited, string? expectedFrom)
    {
        var seconds = $"{waited.TotalSeconds:0.#} s";
        lock (gate)
        {
            var received = Interlocked.Read(ref entry.BytesReceived);
            if (entry.State == State.Waiting)
                return new TensorTransferTimeoutException(id,
                    $"transfer {id}: nothing arrived after {seconds}" + (expectedFrom == null ? "" : $" from {expectedFrom}") +
                    " (no sender started it).", 0, -1);
            return new TensorTransferTimeoutException(id,
                $"transfer {id}: {Describe(received, entry.BytesExpected)} after {seconds} from {entry.Sender} ({entry.Remote}).",
                received, entry.BytesExpected);
        }
    }

    internal static string Describe(long received, long expected) =>
        $"{received:N0} of {expected:N0} bytes ({(expected <= 0 ? 100 : 100.0 * received / expected):0.#}%)";

    internal enum State { Waiting, Arriving, Complete, Failed }

    internal sealed class Entry
    {
        public readonly TaskCompletionSource<float[]> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public State State = State.Waiting;
        public bool Awaited;
        public string Sender = "";
        public string Remote = "";
        public long BytesExpected = -1;
        public long BytesReceived;
        public long FinishedAt;

        public Entry() => Completion.Task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>One transfer in flight on a connection.</summary>
    internal sealed class Arrival(TensorInbox inbox, Guid transferId, Entry entry)
    {
        public Guid TransferId => transferId;
        public long BytesReceived => Interlocked.Read(ref entry.BytesReceived);

        public void Progress(long bytes) => Interlocked.Exchange(ref entry.BytesReceived, bytes);

        public void Complete(float[] data) => Finish(State.Complete, () => entry.Completion.TrySetResult(data));

        public void Fail(string reason) =>
            Finish(State.Failed, () => entry.Completion.TrySetException(new TensorTransferException(transferId, $"transfer {transferId}: {reason}")));

        void Finish(State state, Action complete)
        {
            lock (inbox.gate)
            {
                entry.State = state;
                entry.FinishedAt = Stopwatch.GetTimestamp();
            }
            complete();
        }
    }
}
