namespace SeLoRA.Cluster.Commands;

/// <summary>A named group of commands (`cluster`, `train`, ...), the first word of every command line.</summary>
public sealed record PaletteSpec(string Name, string Description, IReadOnlyList<CommandSpec> Commands);
