namespace SeLoRA.Cluster.Runs;

/// <summary>
/// The reply to <see cref="GetRunStatus"/>. <paramref name="SequenceNr"/>: events persisted so far;
/// <paramref name="RecoveredFromSnapshot"/>: the sequence number of the snapshot the entity recovered from, if any;
/// <paramref name="LastSnapshotSaved"/>: the sequence number of the latest snapshot this incarnation saved, if any.
/// </summary>
public sealed record RunStatus(RunState State, long SequenceNr, long? RecoveredFromSnapshot, long? LastSnapshotSaved = null) : IRunMessage;
