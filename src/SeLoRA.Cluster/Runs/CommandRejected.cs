namespace SeLoRA.Cluster.Runs;

/// <summary>The command was not valid in the run's state; nothing was persisted.</summary>
public sealed record CommandRejected(string RunName, string Command, RunPhase Status, string Reason) : IRunMessage;
