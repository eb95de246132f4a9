namespace SeLoRA.Cluster.Runs;

/// <summary>Every message of a run entity (commands, replies, events); all are bound to <see cref="RunMessageSerializer"/>.</summary>
public interface IRunMessage;
