using System.Text;

namespace SeLoRA.Cli.CommandClient;

/// <summary>
/// A small ReadKey-based line editor for the interactive prompt: left/right/home/end, backspace/delete, up/down through
/// this session's history, Tab completion, Ctrl-C to drop the line, Ctrl-D on an empty line to leave. Only used when
/// stdin is a terminal; redrawn with plain ANSI sequences.
/// </summary>
public sealed class LineEditor(Func<string, IReadOnlyList<string>> complete)
{
    readonly List<string> history = [];

    public IReadOnlyList<string> History => history;

    /// <summary>The line typed, "" after Ctrl-C, null at Ctrl-D on an empty line.</summary>
    public string? ReadLine(string prompt)
    {
        var buffer = new StringBuilder();
        var cursor = 0;
        var recalled = history.Count;
        var draft = "";
        var previousTreat = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        try
        {
            Console.Write(prompt);
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                var control = (key.Modifiers & ConsoleModifiers.Control) != 0;
                switch (key.Key)
                {
                    case ConsoleKey.Enter:
                        Console.WriteLine();
                        var line = buffer.ToString();
                        if (line.Trim().Length > 0 && (history.Count == 0 || history[^1] != line)) history.Add(line);
                        return line;
                    case ConsoleKey.C when control:
                        Console.WriteLine("^C");
                        return "";
                    case ConsoleKey.D when control:
                        if (buffer.Length == 0)
                        {
                            Console.WriteLine();
                            return null;
                        }
                        break;
                    case ConsoleKey.Backspace:
                        if (cursor > 0) buffer.Remove(--cursor, 1);
                        break;
                    case ConsoleKey.Delete:
                        if (cursor < buffer.Length) buffer.Remove(cursor, 1);
                        break;
                    case ConsoleKey.LeftArrow:
                        cursor = Math.Max(0, cursor - 1);
                        break;
                    case ConsoleKey.RightArrow:
                        cursor = Math.Min(buffer.Length, cursor + 1);
                        break;
                    case ConsoleKey.Home:
                    case ConsoleKey.A when control:
                        cursor = 0;
                        break;
                    case ConsoleKey.End:
                    case ConsoleKey.E when control:
                        cursor = buffer.Length;
                        break;
                    case ConsoleKey.UpArrow:
                    case ConsoleKey.DownArrow:
                        if (recalled == history.Count) draft = buffer.ToString();
                        recalled = Math.Clamp(recalled + (key.Key == ConsoleKey.UpArrow ? -1 : 1), 0, history.Count);
                        buffer.Clear().Append(recalled == history.Count ? draft : history[recalled]);
                        cursor = buffer.Length;
                        break;
                    case ConsoleKey.Tab:
                        cursor = Complete(prompt, buffer, cursor);
                        break;
                    default:
                        if (key.KeyChar >= ' ' && !control) buffer.Insert(cursor++, key.KeyChar);
                        break;
                }
                Redraw(prompt, buffer, cursor);
            }
        }
        finally
        {
            Console.TreatControlCAsInput = previousTreat;
        }
    }

    int Complete(string prompt, StringBuilder buffer, int cursor)
    {
        var before = buffer.ToString(0, cursor);
        var start = before.LastIndexOf(' ') + 1;
        var partial = before[start..];
        var candidates = complete(before);
        if (candidates.Count == 0) return cursor;
        var replacement = candidates.Count == 1 ? candidates[0] + " " : CommonPrefix(candidates);
        if (replacement.Length > partial.Length)
        {
            buffer.Remove(start, partial.Length).Insert(start, replacement);
            return start + replacement.Length;
        }
        // Nothing to add: show the choices under the line, then the prompt again.
        Console.WriteLine();
        Console.WriteLine(string.Join("  ", candidates));
        Console.Write(prompt);
        return cursor;
    }

    static string CommonPrefix(IReadOnlyList<string> words)
    {
        var prefix = words[0];
        foreach (var w in words.Skip(1))
        {
            var n = 0;
            while (n < prefix.Length && n < w.Length && prefix[n] == w[n]) n++;
            prefix = prefix[..n];
        }
        return prefix;
    }

    static void Redraw(string prompt, StringBuilder buffer, int cursor)
    {
        var back = buffer.Length - cursor;
        Console.Write($"\r{prompt}{buffer}\u001b[K{(back > 0 ? $"\u001b[{back}D" : "")}");
    }
}
