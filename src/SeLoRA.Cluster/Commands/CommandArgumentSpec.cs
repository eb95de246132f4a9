namespace SeLoRA.Cluster.Commands;

/// <summary>
/// One argument of a command, as the schema the client downloads describes it. <paramref name="Name"/> is the long form
/// without dashes (`address` is typed `--address`); <paramref name="Short"/> is one letter without its dash (`a` is typed
/// `-a`). A switch takes no value (its value is "true" when given). A positional argument may also be given by name;
/// positionals fill in declaration order, and only the last may be repeatable.
/// </summary>
public sealed record CommandArgumentSpec(string Name, string? Short, string Description, bool Mandatory = false, bool IsSwitch = false,
    string? Default = null, bool Repeatable = false, bool Positional = false);
