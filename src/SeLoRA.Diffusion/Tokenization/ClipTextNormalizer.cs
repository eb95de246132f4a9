using System.Text;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// CLIP's text clean-up before pre-tokenisation: <c>whitespace_clean(basic_clean(text)).lower()</c> from
/// openai/CLIP <c>simple_tokenizer.py</c>.
/// </summary>
/// <remarks>
/// ftfy.fix_text has no .NET port. Of what it does, only NFC normalisation is applied here (ftfy's default, and what
/// transformers' fast CLIP tokenizer does too). Not applied: mojibake repair ("cafÃ©" → "café"), curly quotes made
/// straight (’ → ', so "don’t" yields ’ + "t" instead of "don" + "'t"), ligatures split (ﬁ → fi), full-width forms
/// narrowed, control/terminal-escape removal, and ftfy's own extra HTML unescape of text without '&lt;'. None of these
/// touch the clip-tokenizer-vectors fixtures: all their inputs are clean NFC text with straight quotes, which ftfy
/// returns unchanged. Python's str.lower() special cases handled: U+0130 → "i\u0307"; not handled: the Greek final
/// sigma rule (Σ at a word end lowers to ς in Python, σ here).
/// </remarks>
internal static class ClipTextNormalizer
{
    public static string Clean(string text)
    {
        text = text.Normalize(NormalizationForm.FormC);
        text = PythonHtml.Unescape(PythonHtml.Unescape(text));
        text = CollapseWhitespace(StripPython(text));
        return text.Replace("\u0130", "i\u0307", StringComparison.Ordinal).ToLowerInvariant();
    }

    // Python's `regex` \s is Unicode White_Space, the same set as char.IsWhiteSpace.
    static string CollapseWhitespace(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool inSpace = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                if (!inSpace)
                    sb.Append(' ');
                inSpace = true;
                continue;
            }
            inSpace = false;
            sb.Append(c);
        }
        return StripPython(sb.ToString());
    }

    // str.strip() uses str.isspace(), which adds U+001C..U+001F to White_Space.
    static string StripPython(string text)
    {
        static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start]))
            start++;
        while (end > start && IsSpace(text[end - 1]))
            end--;
        return text[start..end];
    }
}
