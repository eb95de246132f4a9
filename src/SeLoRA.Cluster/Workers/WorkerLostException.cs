namespace SeLoRA.Cluster.Workers;

/// <summary>A worker that failed or stopped answering; the step it was in is abandoned and re-run without it.</summary>
public sealed class WorkerLostException(string worker, string message) : Exception(message)
{
    public string Worker { get; } = worker;
}
