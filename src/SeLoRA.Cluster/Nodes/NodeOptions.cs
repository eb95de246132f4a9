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

    /// <summary>selora.cluster and selora.roles; each bad value names its key.</summary>
    public static NodeOptions FromConfig(Akka.Configuration.Config config)
    {
        static Exception Bad(string key, object value, string expected) =>
            new Akka.Configuration.ConfigurationException($"setting {key} = {value}: expected {expected}.");
        var port = config.GetInt("selora.cluster.port");
        if (port is < 0 or > 65535) throw Bad("selora.cluster.port", port, "0 (any free port) to 65535");
        var workers = config.GetInt("selora.cluster.workers");
        if (workers is < 0 or > 64) throw Bad("selora.cluster.workers", workers, "0 (one per GPU) to 64");
        var prepare = config.GetTimeSpan("selora.cluster.prepare-timeout");
        var step = config.GetTimeSpan("selora.cluster.step-timeout");
        if (prepare <= TimeSpan.Zero) throw Bad("selora.cluster.prepare-timeout", prepare, "a positive duration such as 10m");
        if (step <= TimeSpan.Zero) throw Bad("selora.cluster.step-timeout", step, "a positive duration such as 5m");
        return new NodeOptions
        {
            Roles = config.GetStringList("selora.roles").ToList(),
            SeedNodes = config.GetStringList("selora.cluster.seed-nodes").ToList(),
            Hostname = config.GetString("selora.cluster.hostname"),
            Port = port,
            Workers = workers,
            Device = config.GetString("selora.cluster.device"),
            PrepareTimeout = prepare,
            StepTimeout = step,
        };
    }
}
