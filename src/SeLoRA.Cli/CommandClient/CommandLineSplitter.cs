using System.Text;

namespace SeLoRA.Cli.CommandClient;

/// <summary>Splits an interactive command line into tokens: whitespace separates, '…' and "…" quote, \ escapes the next character.</summary>
public static class CommandLineSplitter
{
    public static IReadOnlyList<string> Split(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var inToken = false;
        char? quote = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && quote != '\'' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
                inToken = true;
            }
            else if (quote is not null)
            {
                if (c == quote) quote = null;
                else current.Append(c);
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inToken = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inToken) tokens.Add(current.ToString());
                current.Clear();
                inToken = false;
            }
            else
            {
                current.Append(c);
                inToken = true;
            }
        }
        if (quote is not null) throw new FormatException($"unclosed {quote} quote");
        if (inToken) tokens.Add(current.ToString());
        return tokens;
    }
}
