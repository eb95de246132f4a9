namespace SeLoRA.Cluster.Runs;

/// <summary>Adds a run to the index of runs the cluster has started (idempotent).</summary>
public sealed record IndexRun(string Name) : IRunMessage;

/// <summary>The index's event: a run was started under this name.</summary>
public sealed record RunIndexed(string Name) : IRunMessage;

/// <summary>Asks for every indexed run name.</summary>
public sealed record GetIndexedRuns : IRunMessage;

public sealed record IndexedRuns(string[] Names) : IRunMessage;
