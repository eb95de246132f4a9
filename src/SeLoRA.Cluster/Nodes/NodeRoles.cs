namespace SeLoRA.Cluster.Nodes;

/// <summary>The roles a node can play and the well-known names of their actors.</summary>
public static class NodeRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";
    public const string Evaluator = "evaluator";
    public const string CoordinatorActorName = "coordinator";
}
