using System.Text;
using System.Text.RegularExpressions;

namespace SeLoRA.Adapters.Injection;

/// <summary>
/// Matches full dotted module names. A pattern without wildcards matches the whole name or a dotted suffix of it
/// (PEFT's target_modules rule: "to_q" matches "down.0.attn1.to_q", "ff.net.0.proj" matches "...ff.net.0.proj").
/// With wildcards the whole name must match: <c>*</c> is any text inside one segment, <c>**</c> any number of segments.
/// </summary>
public sealed class TargetPattern
{
    readonly Regex? regex;

    public TargetPattern(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern)) throw new ArgumentException("A target pattern cannot be empty.", nameof(pattern));
        Pattern = pattern;
        if (pattern.Contains('*')) regex = new Regex("^" + ToRegex(pattern) + "$", RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }

    public bool Matches(string fullName)
    {
        ArgumentNullException.ThrowIfNull(fullName);
        if (regex is not null) return regex.IsMatch(fullName);
        return fullName == Pattern || fullName.EndsWith("." + Pattern, StringComparison.Ordinal);
    }

    /// <summary>A predicate that is true when any of the patterns matches.</summary>
    public static Func<string, bool> Any(params string[] patterns)
    {
        var compiled = patterns.Select(p => new TargetPattern(p)).ToArray();
        return name => compiled.Any(p => p.Matches(name));
    }

    public override string ToString() => Pattern;

    static string ToRegex(string pattern)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '*')
            {
                sb.Append(Regex.Escape(pattern[i].ToString()));
                continue;
            }
            if (i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                // "**." may also match nothing, so "**.to_q" matches a top-level "to_q".
                if (i + 1 < pattern.Length && pattern[i + 1] == '.')
                {
                    i++;
                    sb.Append("(?:.*\\.)?");
                }
                else
                {
                    sb.Append(".*");
                }
            }
            else
            {
                sb.Append("[^.]*");
            }
        }
        return sb.ToString();
    }
}
