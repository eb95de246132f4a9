using System.Collections.Concurrent;

namespace SeLoRA.Cluster.Workers;

/// <summary>What each device worker of this process is doing, readable without asking the (possibly busy) worker.</summary>
public sealed class WorkerStatusBoard
{
    readonly ConcurrentDictionary<string, WorkerStatus> entries = new(StringComparer.Ordinal);

    public void Set(WorkerStatus status) => entries[status.Worker] = status;

    public IReadOnlyList<WorkerStatus> All() => entries.Values.OrderBy(s => s.Worker, StringComparer.Ordinal).ToList();
}

/// <summary>A worker's device, the run its replica belongs to (null: idle, no model held), and its last step.</summary>
public sealed record WorkerStatus(string Worker, string Device, string? Run, long Step, string Phase);
