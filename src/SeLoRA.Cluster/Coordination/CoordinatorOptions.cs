namespace SeLoRA.Cluster.Coordination;

/// <summary>Timeouts of the coordinator's waits on its workers.</summary>
public sealed record CoordinatorOptions(TimeSpan PrepareTimeout, TimeSpan StepTimeout)
{
    public static CoordinatorOptions Default { get; } = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
}
