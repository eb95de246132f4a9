namespace SeLoRA.Cluster.Hosting;

/// <summary>Who is logging: enriches every line with node and role, and run and worker where known.</summary>
public sealed record LogScope(string Node, string Role, string? Run = null, string? Worker = null)
{
    public const string NodeProperty = "Node";
    public const string RoleProperty = "Role";
    public const string RunProperty = "Run";
    public const string WorkerProperty = "Worker";

    public static LogScope For(SeloraSettings settings, string? run = null, string? worker = null) =>
        new(settings.NodeName, string.Join('+', settings.Roles), run, worker);
}
