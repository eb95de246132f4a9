namespace SeLoRA.Cluster.Nodes;

/// <summary>How one node joins the cluster and what it runs (from selora.cluster and the `selora node` flags).</summary>
public sealed record NodeOptions
{
    public IReadOnlyList<string> Roles { get; init; } = [NodeRoles.Coordinator, NodeRoles.Worker, NodeRoles.Evaluator];

    /// <summary>Seed node addresses; empty: this node seeds a cluster of its own.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Remoting port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Device workers on a worker node; 0: one per GPU, or one CPU worker.</summary>
    public int Workers { get; init; }

    public string Device { get; init; } = "auto";

    public TimeSpan PrepareTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Record runs in the configured database (coordinator nodes).</summary>
    public bool Persist { get; init; } = true;
}
