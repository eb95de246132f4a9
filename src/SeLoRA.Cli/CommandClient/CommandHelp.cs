using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cli.CommandClient;

/// <summary>Help text generated from the schema the host sent: `help`, `help &lt;palette&gt;`, `help &lt;palette&gt; &lt;command&gt;`.</summary>
public static class CommandHelp
{
    public static IEnumerable<string> Lines(CommandSchema schema, IReadOnlyList<string> words)
    {
        if (words.Count == 0)
        {
            yield return "Palettes (help <palette> for its commands):";
            var width = schema.Palettes.Select(p => p.Name.Length).DefaultIfEmpty(4).Max() + 2;
            foreach (var palette in schema.Palettes)
                yield return $"  {palette.Name.PadRight(width)}{palette.Description}";
            yield return "Also: help [<palette> [<command>]], exit. Tab completes, up/down recall, Ctrl-C cancels a running command.";
            yield break;
        }
        var spec = schema.FindPalette(words[0])
                   ?? throw new CommandException(CommandErrorKind.UnknownPalette,
                       $"unknown palette '{words[0]}'; palettes: {string.Join(", ", schema.Palettes.Select(p => p.Name))}");
        if (words.Count == 1)
        {
            yield return $"{spec.Name}: {spec.Description}";
            foreach (var command in spec.Commands)
            {
                yield return $"  {CommandSchema.Usage(spec.Name, command)}";
                yield return $"      {command.Description}";
            }
            yield break;
        }
        var commandSpec = spec.Commands.FirstOrDefault(c => c.Name == words[1])
                          ?? throw new CommandException(CommandErrorKind.UnknownCommand,
                              $"unknown command '{spec.Name} {words[1]}'; commands of {spec.Name}: {string.Join(", ", spec.Commands.Select(c => c.Name))}");
        yield return CommandSchema.Usage(spec.Name, commandSpec);
        yield return $"  {commandSpec.Description}";
        foreach (var a in commandSpec.Arguments)
        {
            var form = a.Positional ? $"<{a.Name}>" : (a.Short is null ? "" : $"-{a.Short}, ") + $"--{a.Name}" + (a.IsSwitch ? "" : $" <{a.Name}>");
            var notes = new List<string>();
            if (a.Mandatory && a.Default is null) notes.Add("mandatory");
            if (a.Default is not null) notes.Add($"default: {a.Default}");
            if (a.IsSwitch) notes.Add("switch");
            if (a.Repeatable) notes.Add("repeatable");
            yield return $"    {form,-28} {a.Description}{(notes.Count > 0 ? $" ({string.Join("; ", notes)})" : "")}";
        }
    }
}
