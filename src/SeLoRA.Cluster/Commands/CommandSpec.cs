namespace SeLoRA.Cluster.Commands;

/// <summary>One command of a palette (`show` in `cluster show`) and its arguments.</summary>
public sealed record CommandSpec(string Name, string Description, IReadOnlyList<CommandArgumentSpec> Arguments);
