namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// GPT-2/CLIP <c>bytes_to_unicode</c>: every byte gets a printable character, so BPE symbols never contain
/// whitespace or control characters. Printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards.
/// </summary>
internal static class ClipByteEncoding
{
    public static readonly char[] ByteToChar = BuildByteToChar();

    public static readonly IReadOnlyDictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        var assigned = new bool[256];
        foreach (var (from, to) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
            for (int b = from; b <= to; b++)
            {
                map[b] = (char)b;
                assigned[b] = true;
            }
        int next = 0;
        for (int b = 0; b < 256; b++)
            if (!assigned[b])
                map[b] = (char)(256 + next++);
        return map;
    }
}
