namespace SeLoRA.Training.Checkpoints;

/// <summary>
/// A second home for a run's checkpoints (the cluster's database), so a run can resume on a machine whose disk never saw
/// them. The run calls it after every checkpoint it keeps, and on resume when a checkpoint is missing locally.
/// </summary>
public interface ICheckpointMirror
{
    /// <summary>Copies the run's files that a resume needs (config.json, split.json) and one complete checkpoint folder.</summary>
    void Saved(string runName, string runDirectory, CheckpointInfo checkpoint, bool best);

    /// <summary>Drops mirrored regular checkpoints other than <paramref name="keptSteps"/> (the best stays).</summary>
    void Retain(string runName, IReadOnlyCollection<long> keptSteps);

    /// <summary>
    /// Restores the run files and the checkpoint <paramref name="reference"/> names ("latest", "best" or a step) into the
    /// run folder; false when the mirror holds none.
    /// </summary>
    bool TryRestore(string runName, string runDirectory, string reference);
}
