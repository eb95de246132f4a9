using System.Globalization;
using System.Text;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// CLIP's pre-tokenisation regex
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (IGNORECASE), as a scanner over Unicode scalars: .NET Regex sees UTF-16 units, so a letter or digit outside the
/// BMP (CJK extension B, mathematical letters) would fall into the punctuation class there, unlike Python.
/// Categories come from .NET's Unicode tables; code points assigned in a later Unicode version than .NET's
/// (checked: a few Tangut supplement ones) can split differently from Python's <c>regex</c> module.
/// </summary>
internal static class ClipPreTokenizer
{
    // In the regex's alternation order; none is a prefix of a later one, so the first hit is the regex's choice.
    static readonly string[] Literals = ["<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    enum Kind { Space, Letter, Number, Other }

    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            var kind = Classify(text, i, out int width);
            if (kind == Kind.Space)
            {
                i += width;
                continue;
            }
            if (MatchLiteral(text, i) is { } literalLength)
            {
                pieces.Add(text.Substring(i, literalLength));
                i += literalLength;
                continue;
            }
            int start = i;
            i += width;
            // [\p{N}] takes one scalar; letter and other runs are greedy and never need to backtrack.
            if (kind != Kind.Number)
                while (i < text.Length && Classify(text, i, out width) == kind)
                    i += width;
            pieces.Add(text[start..i]);
        }
        return pieces;
    }

    static int? MatchLiteral(string text, int index)
    {
        foreach (var literal in Literals)
            if (index + literal.Length <= text.Length
                && string.Compare(text, index, literal, 0, literal.Length, StringComparison.OrdinalIgnoreCase) == 0)
                return literal.Length;
        return null;
    }

    static Kind Classify(string text, int index, out int width)
    {
        Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out width);
        if (Rune.IsWhiteSpace(rune))
            return Kind.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }
}
