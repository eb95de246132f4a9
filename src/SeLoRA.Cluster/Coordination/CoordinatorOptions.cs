using SeLoRA.Cluster.Runs;

namespace SeLoRA.Cluster.Coordination;

/// <summary>Timeouts of the coordinator's waits on its workers.</summary>
/// <param name="Persist">Record each run as an event-sourced entity (needs akka.persistence configured, e.g. PersistenceHocon).</param>
/// <param name="StepsPerRecord">Steps batched into one StepsCompleted event.</param>
/// <param name="Mirror">Where checkpoints are also kept (the database), so a run can resume on another machine.</param>
/// <param name="RecoverRunsUnder">When set (with <paramref name="Persist"/>), a coordinator that starts resumes the runs the
/// journal shows as still running (their coordinator was lost), with run folders under this data directory.</param>
/// <param name="Evaluation">When set, checkpoints are handed to registered evaluators as their CheckpointSaved is
/// recorded, and a completed run's best checkpoint to a final test evaluation.</param>
/// <param name="FingerprintEvery">Replica fingerprints are compared every this many steps (and after every expansion).</param>
public sealed record CoordinatorOptions(TimeSpan PrepareTimeout, TimeSpan StepTimeout, bool Persist = false, int StepsPerRecord = 20,
    RunEntityOptions? EntityOptions = null, int FingerprintEvery = 50, SeLoRA.Training.Checkpoints.ICheckpointMirror? Mirror = null,
    string? RecoverRunsUnder = null, SeLoRA.Cluster.Evaluators.EvaluationSettings? Evaluation = null)
{
    public static CoordinatorOptions Default { get; } = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
}
