namespace SeLoRA.Cluster.Commands;

/// <summary>
/// A command line parsed and validated against its spec by the host before a palette sees it: every key is an argument
/// name of the spec, defaults are filled in, switches that were given hold "true".
/// </summary>
public sealed record CommandInvocation(string Palette, string Command, IReadOnlyDictionary<string, IReadOnlyList<string>> Arguments)
{
    /// <summary>The (last) value of the argument, its default when it was not given, else null.</summary>
    public string? Get(string name) => Arguments.TryGetValue(name, out var values) && values.Count > 0 ? values[^1] : null;

    /// <summary>Whether the argument was given or has a default (a switch: whether it was given).</summary>
    public bool Has(string name) => Arguments.ContainsKey(name);

    /// <summary>Every value of a repeatable argument, in the order given; empty when absent.</summary>
    public IReadOnlyList<string> GetAll(string name) => Arguments.TryGetValue(name, out var values) ? values : [];
}
