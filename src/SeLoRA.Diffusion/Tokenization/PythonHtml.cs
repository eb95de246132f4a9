using System.Globalization;
using System.Net;
using System.Text;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// Python's <c>html.unescape</c>, which CLIP's <c>basic_clean</c> applies twice. WebUtility.HtmlDecode alone differs:
/// Python also decodes numeric references without ';', legacy names without ';' (<c>&amp;amp</c>, <c>&amp;copy</c>),
/// a legacy-name prefix (<c>&amp;ampx</c> → <c>&amp;x</c>) and remaps C1 code points as windows-1252.
/// Named lookup uses .NET's HTML 4 table, so the ~2,000 HTML5-only names (e.g. <c>&amp;bigstar;</c>) stay undecoded.
/// </summary>
internal static class PythonHtml
{
    // Python's html._invalid_charrefs for 0x80..0x9F: windows-1252, with its five holes kept as the C1 control.
    const string Windows1252C1 =
        "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
        "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

    // html5 keys without ';' (the only ones Python accepts unterminated or as a prefix).
    static readonly HashSet<string> LegacyNames = new(StringComparer.Ordinal)
    {
        "AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil", "ETH", "Eacute",
        "Ecirc", "Egrave", "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT", "Ntilde", "Oacute", "Ocirc",
        "Ograve", "Oslash", "Otilde", "Ouml", "QUOT", "REG", "THORN", "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute",
        "aacute", "acirc", "acute", "aelig", "agrave", "amp", "aring", "atilde", "auml", "brvbar", "ccedil", "cedil",
        "cent", "copy", "curren", "deg", "divide", "eacute", "ecirc", "egrave", "eth", "euml", "frac12", "frac14",
        "frac34", "gt", "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt", "macr", "micro",
        "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash", "otilde", "ouml",
        "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1", "sup2", "sup3", "szlig", "thorn",
        "times", "uacute", "ucirc", "ugrave", "uml", "uuml", "yacute", "yen", "yuml",
    };

    public static string Unescape(string text)
    {
        if (!text.Contains('&'))
            return text;
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] != '&' || !TryReference(text, i, out var replacement, out var consumed))
            {
                sb.Append(text[i++]);
                continue;
            }
            sb.Append(replacement);
            i += consumed;
        }
        return sb.ToString();
    }

    // Matches Python's pattern &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) at position start.
    static bool TryReference(string text, int start, out string replacement, out int consumed)
    {
        replacement = "";
        consumed = 0;
        int p = start + 1;
        if (p < text.Length && text[p] == '#')
        {
            bool hex = p + 1 < text.Length && (text[p + 1] == 'x' || text[p + 1] == 'X');
            int digitsStart = hex ? p + 2 : p + 1;
            int q = digitsStart;
            while (q < text.Length && (hex ? char.IsAsciiHexDigit(text[q]) : char.IsAsciiDigit(text[q])))
                q++;
            if (q == digitsStart)
                return false;
            var digits = text.AsSpan(digitsStart, q - digitsStart);
            if (q < text.Length && text[q] == ';')
                q++;
            consumed = q - start;
            replacement = FromCodePoint(digits, hex);
            return true;
        }

        int nameStart = p;
        while (p < text.Length && p - nameStart < 32 && text[p] is not ('\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';'))
            p++;
        if (p == nameStart)
            return false;
        var name = text[nameStart..p];
        bool terminated = p < text.Length && text[p] == ';';
        consumed = p - start + (terminated ? 1 : 0);
        if (LookUp(name, terminated) is { } whole)
        {
            replacement = whole;
            return true;
        }
        // Longest legacy prefix (at least two characters) of the whole match, the rest kept as text.
        var matched = terminated ? name + ";" : name;
        for (int length = matched.Length - 1; length > 1; length--)
            if (LookUp(matched[..length], terminated: false) is { } prefix)
            {
                replacement = prefix + matched[length..];
                return true;
            }
        replacement = "&" + matched;
        return true;
    }

    static string? LookUp(string name, bool terminated)
    {
        if (!terminated && !LegacyNames.Contains(name))
            return null;
        // The upper-case legacy aliases are not in .NET's HTML 4 table.
        var key = name is "AMP" or "COPY" or "GT" or "LT" or "QUOT" or "REG" ? name.ToLowerInvariant() : name;
        var reference = "&" + key + ";";
        var decoded = WebUtility.HtmlDecode(reference);
        return decoded == reference ? null : decoded;
    }

    static string FromCodePoint(ReadOnlySpan<char> digits, bool hex)
    {
        // Anything that overflows is far above U+10FFFF, which Python turns into U+FFFD as well.
        if (!long.TryParse(digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number < 0)
            return "\uFFFD";
        if (number == 0)
            return "\uFFFD";
        if (number == 0x0D)
            return "\r";
        if (number is >= 0x80 and <= 0x9F)
            return Windows1252C1[(int)number - 0x80].ToString();
        if (number is >= 0xD800 and <= 0xDFFF || number > 0x10FFFF)
            return "\uFFFD";
        if (number is >= 0x01 and <= 0x08 or 0x0B or >= 0x0E and <= 0x1F or 0x7F or >= 0xFDD0 and <= 0xFDEF
            || (number & 0xFFFE) == 0xFFFE)
            return "";
        return char.ConvertFromUtf32((int)number);
    }
}
