using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cli.CommandClient;

/// <summary>Tab completion from the schema: palettes, then commands, then the command's --switches not given yet.</summary>
public static class CommandCompleter
{
    static readonly string[] BuiltIns = ["help", "exit"];

    /// <summary>The candidates for the word being typed at the end of <paramref name="beforeCursor"/>, sorted.</summary>
    public static IReadOnlyList<string> Complete(CommandSchema schema, string beforeCursor)
    {
        var words = beforeCursor.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var partial = beforeCursor.Length == 0 || char.IsWhiteSpace(beforeCursor[^1]) ? "" : words[^1];
        if (partial.Length > 0) words.RemoveAt(words.Count - 1);
        IEnumerable<string> candidates;
        var isHelp = words.Count > 0 && words[0] == "help";
        var palette = words.Count > (isHelp ? 1 : 0) ? schema.FindPalette(words[isHelp ? 1 : 0]) : null;
        if (words.Count == 0)
            candidates = schema.Palettes.Select(p => p.Name).Concat(BuiltIns);
        else if (isHelp)
            candidates = words.Count == 1 ? schema.Palettes.Select(p => p.Name)
                : words.Count == 2 && palette is not null ? palette.Commands.Select(c => c.Name) : [];
        else if (palette is null)
            candidates = [];
        else if (words.Count == 1)
            candidates = palette.Commands.Select(c => c.Name);
        else
        {
            var command = palette.Commands.FirstOrDefault(c => c.Name == words[1]);
            var given = words.Skip(2).ToHashSet();
            candidates = command is null || (partial.Length > 0 && partial[0] != '-')
                ? []
                : command.Arguments.Where(a => !a.Positional)
                    .Where(a => a.Repeatable || (!given.Contains("--" + a.Name) && (a.Short is null || !given.Contains("-" + a.Short))))
                    .Select(a => "--" + a.Name);
        }
        return candidates.Where(c => c.StartsWith(partial, StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal).ToList();
    }
}
