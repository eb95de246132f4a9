namespace SeLoRA.Cluster.Runs;

/// <summary>Where a run is in its life. Completed, Failed and Stopped are final.</summary>
public enum RunPhase
{
    NotStarted,
    Running,
    Paused,
    Completed,
    Failed,
    Stopped,
}
