namespace SeLoRA.Training.Engine;

/// <summary>How to execute a run (not part of what it computes).</summary>
public sealed record RunOptions
{
    /// <summary>Folder under which a run without an explicit <see cref="RunDirectory"/> gets &lt;name&gt;/ (selora.data-dir).</summary>
    public string RunsRoot { get; init; } = "runs";

    /// <summary>The run folder; null: &lt;RunsRoot&gt;/&lt;name&gt;.</summary>
    public string? RunDirectory { get; init; }

    /// <summary>Continue a run: "latest", "best", a step, or a checkpoint folder (whose run it then continues).</summary>
    public string? Resume { get; init; }

    /// <summary>On resume, take the run's own config.json instead of comparing the given one with it.</summary>
    public bool ConfigFromRun { get; init; }

    /// <summary>Stop (with a checkpoint) after this step, as a pause would; null: run to the end.</summary>
    public long? StopAfterStep { get; init; }

    /// <summary>Builds the replicas that train (null: one replica in this process). The cluster passes its device workers here.</summary>
    public Func<ReplicaGroupContext, IReplicaGroup>? Replicas { get; init; }

    /// <summary>Where checkpoints are also kept (the cluster's database), and restored from when missing here; null: none.</summary>
    public SeLoRA.Training.Checkpoints.ICheckpointMirror? Mirror { get; init; }

    /// <summary>The layered HOCON the config was read from, written beside config.json for the record.</summary>
    public string? ConfigHocon { get; init; }
}
