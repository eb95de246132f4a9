using System.Text;
using System.Text.RegularExpressions;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// The palettes a host serves: checked once at start, then used by the host and the client alike to turn a command line
/// into a <see cref="CommandInvocation"/>, so both give the same errors.
/// Grammar after palette and command: `--name value`, `--name=value`, `-s value`, `--switch`, `-s` (switch), and bare
/// tokens filling the positional arguments in order; `--` ends the options (what follows is positional).
/// </summary>
public sealed partial class CommandSchema
{
    /// <summary>Words the interactive client keeps for itself.</summary>
    public static readonly IReadOnlySet<string> ReservedPaletteNames = new HashSet<string> { "help", "exit", "quit" };

    readonly Dictionary<string, PaletteSpec> byName;

    public CommandSchema(IEnumerable<PaletteSpec> palettes)
    {
        Palettes = palettes.ToList();
        byName = new Dictionary<string, PaletteSpec>(StringComparer.Ordinal);
        foreach (var palette in Palettes)
        {
            if (!byName.TryAdd(palette.Name, palette)) throw new ArgumentException($"palette '{palette.Name}' is registered twice.");
        }
    }

    public IReadOnlyList<PaletteSpec> Palettes { get; }

    public PaletteSpec? FindPalette(string name) => byName.GetValueOrDefault(name);

    /// <summary>Checks names and argument rules of a palette; throws <see cref="ArgumentException"/> naming the offender.</summary>
    public static void Validate(PaletteSpec palette)
    {
        if (palette.Name is null || !NamePattern().IsMatch(palette.Name))
            throw new ArgumentException($"palette name '{palette.Name}' must match {NamePattern()}.");
        if (ReservedPaletteNames.Contains(palette.Name))
            throw new ArgumentException($"palette name '{palette.Name}' is reserved by the client.");
        var commands = new HashSet<string>();
        foreach (var command in palette.Commands ?? throw new ArgumentException($"palette '{palette.Name}' has no command list."))
        {
            var where = $"{palette.Name} {command.Name}";
            if (command.Name is null || !NamePattern().IsMatch(command.Name)) throw new ArgumentException($"command name '{where}' must match {NamePattern()}.");
            if (!commands.Add(command.Name)) throw new ArgumentException($"command '{where}' is declared twice.");
            var names = new HashSet<string>();
            var shorts = new HashSet<string>();
            var positionals = (command.Arguments ?? throw new ArgumentException($"command '{where}' has no argument list.")).Where(a => a.Positional).ToList();
            foreach (var argument in command.Arguments)
            {
                if (argument.Name is null || !NamePattern().IsMatch(argument.Name)) throw new ArgumentException($"argument '{argument.Name}' of '{where}' must match {NamePattern()}.");
                if (!names.Add(argument.Name)) throw new ArgumentException($"argument '{argument.Name}' of '{where}' is declared twice.");
                if (argument.Short is { } s && (s.Length != 1 || !char.IsAsciiLetterOrDigit(s[0]) || !shorts.Add(s)))
                    throw new ArgumentException($"short form '{s}' of '{where} --{argument.Name}' must be one letter or digit, without dash, and unique.");
                if (argument.Positional && argument.IsSwitch) throw new ArgumentException($"argument '{argument.Name}' of '{where}' cannot be both positional and a switch.");
            }
            if (positionals.Take(positionals.Count - 1).Any(a => a.Repeatable))
                throw new ArgumentException($"only the last positional argument of '{where}' may be repeatable.");
        }
    }

    /// <summary>
    /// Finds the command and parses its tokens; throws <see cref="CommandException"/> (UnknownPalette, UnknownCommand,
    /// BadArguments) with a message that names what is wrong.
    /// </summary>
    public CommandInvocation Resolve(string palette, string command, IReadOnlyList<string> tokens)
    {
        var spec = FindPalette(palette)
                   ?? throw new CommandException(CommandErrorKind.UnknownPalette,
                       $"unknown palette '{palette}'; palettes: {string.Join(", ", Palettes.Select(p => p.Name))}");
        var commandSpec = spec.Commands.FirstOrDefault(c => c.Name == command)
                          ?? throw new CommandException(CommandErrorKind.UnknownCommand,
                              $"unknown command '{palette} {command}'; commands of {palette}: {string.Join(", ", spec.Commands.Select(c => c.Name))}");
        return Parse(palette, commandSpec, tokens);
    }

    /// <summary>Parses the tokens after palette and command against one command's spec.</summary>
    public static CommandInvocation Parse(string palette, CommandSpec command, IReadOnlyList<string> tokens)
    {
        var where = $"{palette} {command.Name}";
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var positionals = command.Arguments.Where(a => a.Positional).ToList();
        var nextPositional = 0;
        var onlyPositionals = false;

        void Add(CommandArgumentSpec argument, string value, string typed)
        {
            if (!values.TryGetValue(argument.Name, out var list)) values[argument.Name] = list = [];
            else if (!argument.Repeatable)
                throw new CommandException(CommandErrorKind.BadArguments, $"{where}: argument {Describe(argument)} given twice (at '{typed}'); it is not repeatable.");
            list.Add(value);
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i] ?? throw new CommandException(CommandErrorKind.BadRequest, $"{where}: null argument token");
            if (!onlyPositionals && token == "--")
            {
                onlyPositionals = true;
                continue;
            }
            if (!onlyPositionals && token.Length > 1 && token[0] == '-' && !IsNumber(token))
            {
                string name;
                string? inline = null;
                CommandArgumentSpec? argument;
                if (token.StartsWith("--", StringComparison.Ordinal))
                {
                    name = token[2..];
                    var eq = name.IndexOf('=');
                    if (eq >= 0)
                    {
                        inline = name[(eq + 1)..];
                        name = name[..eq];
                    }
                    argument = command.Arguments.FirstOrDefault(a => a.Name == name);
                }
                else
                {
                    name = token[1..];
                    argument = command.Arguments.FirstOrDefault(a => a.Short == name);
                }
                if (argument is null)
                    throw new CommandException(CommandErrorKind.BadArguments,
                        $"{where}: unknown argument '{token}'; {(command.Arguments.Count == 0 ? "it takes no arguments" : "expected " + string.Join(", ", command.Arguments.Select(Describe)))}");
                if (argument.IsSwitch)
                {
                    if (inline is not null && inline is not ("true" or "false"))
                        throw new CommandException(CommandErrorKind.BadArguments, $"{where}: switch {Describe(argument)} takes no value (got '{inline}').");
                    if (inline == "false") continue;
                    // A repeated switch is harmless: keep one "true".
                    if (!values.ContainsKey(argument.Name)) values[argument.Name] = ["true"];
                    continue;
                }
                if (inline is null)
                {
                    if (i + 1 >= tokens.Count)
                        throw new CommandException(CommandErrorKind.BadArguments, $"{where}: argument {Describe(argument)} needs a value.");
                    inline = tokens[++i];
                }
                Add(argument, inline, token);
                continue;
            }
            if (nextPositional >= positionals.Count)
                throw new CommandException(CommandErrorKind.BadArguments,
                    $"{where}: unexpected value '{token}'; {(positionals.Count == 0 ? "it takes no positional arguments" : "positional arguments: " + string.Join(" ", positionals.Select(p => $"<{p.Name}>")))}");
            var positional = positionals[nextPositional];
            if (!positional.Repeatable) nextPositional++;
            Add(positional, token, token);
        }

        foreach (var argument in command.Arguments)
        {
            if (values.ContainsKey(argument.Name)) continue;
            if (argument.Default is not null && !argument.IsSwitch) values[argument.Name] = [argument.Default];
            else if (argument.Mandatory)
                throw new CommandException(CommandErrorKind.BadArguments, $"{where}: missing mandatory argument {Describe(argument)}.");
        }
        return new CommandInvocation(palette, command.Name,
            values.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.AsReadOnly(), StringComparer.Ordinal));
    }

    /// <summary>How an argument is typed: `--address/-a`, or `<run>` for a positional.</summary>
    public static string Describe(CommandArgumentSpec argument) =>
        argument.Positional ? $"<{argument.Name}>" : argument.Short is null ? $"--{argument.Name}" : $"--{argument.Name}/-{argument.Short}";

    /// <summary>A one-line synopsis: `cluster join -a|--address <address> [--force]`.</summary>
    public static string Usage(string palette, CommandSpec command)
    {
        var text = new StringBuilder($"{palette} {command.Name}");
        foreach (var a in command.Arguments)
        {
            var form = a.Positional ? $"<{a.Name}>" : (a.Short is null ? $"--{a.Name}" : $"-{a.Short}|--{a.Name}") + (a.IsSwitch ? "" : $" <{a.Name}>");
            if (a.Repeatable) form += " ...";
            text.Append(' ').Append(a.Mandatory && a.Default is null ? form : $"[{form}]");
        }
        return text.ToString();
    }

    static bool IsNumber(string token) => double.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);

    [GeneratedRegex("^[a-z][a-z0-9-]{0,39}$")]
    private static partial Regex NamePattern();
}
