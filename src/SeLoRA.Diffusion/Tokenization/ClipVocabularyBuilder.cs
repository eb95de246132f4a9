using System.Text;
using System.Text.Json;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// Learns a small CLIP-format BPE vocabulary (vocab.json + merges.txt) from a corpus, so the tiny model and the
/// quickstart need no downloaded vocabulary. Same layout as CLIP's: 256 byte symbols, the same 256 with "&lt;/w&gt;",
/// one entry per merge, then the two special tokens. Microsoft.ML.Tokenizers can apply BPE but has no trainer.
/// </summary>
public static class ClipVocabularyBuilder
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";
    const string EndOfWord = "</w>";

    public sealed record Vocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges)
    {
        public int BosId => Tokens.Count - 2;
        public int EosId => Tokens.Count - 1;
    }

    /// <summary>Greedy BPE: repeatedly merges the most frequent adjacent pair (ties broken ordinally) up to <paramref name="merges"/> times.</summary>
    public static Vocabulary Learn(IEnumerable<string> corpus, int merges)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(merges);
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
            foreach (var word in ClipPreTokenizer.Split(ClipTextNormalizer.Clean(text)))
                if (word is not (StartOfText or EndOfText))
                    words[word] = words.GetValueOrDefault(word) + 1;

        var byteSymbols = ClipByteEncoding.ByteToChar.Select(c => c.ToString()).ToList();
        var tokens = new List<string>(byteSymbols);
        tokens.AddRange(byteSymbols.Select(s => s + EndOfWord));
        var known = new HashSet<string>(tokens, StringComparer.Ordinal);
        var learned = new List<(string, string)>();

        var split = words.ToDictionary(kv => kv.Key, kv => Symbols(kv.Key), StringComparer.Ordinal);
        while (learned.Count < merges)
        {
            var counts = new Dictionary<(string, string), int>();
            foreach (var (word, symbols) in split)
                for (var i = 0; i + 1 < symbols.Count; i++)
                    counts[(symbols[i], symbols[i + 1])] = counts.GetValueOrDefault((symbols[i], symbols[i + 1])) + words[word];
            if (counts.Count == 0) break;
            var best = counts.OrderByDescending(kv => kv.Value)
                .ThenBy(kv => kv.Key.Item1, StringComparer.Ordinal).ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal).First().Key;
            learned.Add(best);
            var merged = best.Item1 + best.Item2;
            if (known.Add(merged)) tokens.Add(merged);
            foreach (var symbols in split.Values)
                for (var i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
        }
        tokens.Add(StartOfText);
        tokens.Add(EndOfText);
        return new Vocabulary(tokens, learned);
    }

    /// <summary>Writes vocab.json, merges.txt and the special-token files that ClipTokenizer.FromFolder reads.</summary>
    public static void WriteFolder(Vocabulary vocabulary, string directory, int maxLength = 77)
    {
        Directory.CreateDirectory(directory);
        var vocab = vocabulary.Tokens.Select((token, id) => (token, id)).ToDictionary(x => x.token, x => x.id);
        File.WriteAllText(Path.Combine(directory, ClipTokenizer.VocabFile), JsonSerializer.Serialize(vocab));
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in vocabulary.Merges) merges.Append(left).Append(' ').Append(right).Append('\n');
        File.WriteAllText(Path.Combine(directory, ClipTokenizer.MergesFile), merges.ToString());
        File.WriteAllText(Path.Combine(directory, "special_tokens_map.json"), JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["bos_token"] = StartOfText, ["eos_token"] = EndOfText, ["pad_token"] = EndOfText, ["unk_token"] = EndOfText,
        }));
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_max_length"] = maxLength, ["do_lower_case"] = true,
        }));
    }

    static List<string> Symbols(string word)
    {
        var bytes = Encoding.UTF8.GetBytes(word);
        var symbols = bytes.Select(b => ClipByteEncoding.ByteToChar[b].ToString()).ToList();
        symbols[^1] += EndOfWord;
        return symbols;
    }
}
