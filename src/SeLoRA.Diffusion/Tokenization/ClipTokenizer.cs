using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// The CLIP byte-level BPE tokenizer of Stable Diffusion 1.x (openai/CLIP <c>simple_tokenizer.py</c>, transformers
/// <c>CLIPTokenizer</c>), loaded from a diffusers <c>tokenizer/</c> folder. Thread-safe.
/// </summary>
/// <remarks>
/// Clean-up (html unescape twice, whitespace collapse, lower-case; see <see cref="ClipTextNormalizer"/> for what
/// the missing ftfy changes) and the pre-tokenisation regex are done here; each word then goes to
/// Microsoft.ML.Tokenizers' BPE model, whose ByteLevel + EndOfWordSuffix options are CLIP's byte mapping and
/// "&lt;/w&gt;" on the last symbol, and whose merge loop applies the lowest-ranked pair first, as CLIP's does.
/// </remarks>
public sealed class ClipTokenizer
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    const string EndOfWord = "</w>";
    // Bounds the word cache for callers that stream many distinct prompts.
    const int MaxCachedWords = 100_000;

    readonly BpeTokenizer bpe;
    readonly Dictionary<string, int> specialTokenIds;
    readonly string[] idToToken;
    readonly HashSet<int> specialIds;
    readonly ConcurrentDictionary<string, int[]> wordCache = new(StringComparer.Ordinal);
    // ConcurrentDictionary.Count takes every lock, so the bound is checked on this instead.
    int cachedWords;

    ClipTokenizer(BpeTokenizer bpe, string[] idToToken, Dictionary<string, int> vocab, ClipTokenizerConfig config, string source)
    {
        this.bpe = bpe;
        this.idToToken = idToToken;
        Config = config;
        int Require(string token, string role) => vocab.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"{source}: {role} token \"{token}\" is not in {VocabFile}");
        BosId = Require(config.BosToken, "bos");
        EosId = Require(config.EosToken, "eos");
        PadId = Require(config.PadToken, "pad");
        UnkId = Require(config.UnkToken, "unk");
        specialIds = [BosId, EosId, PadId, UnkId];
        specialTokenIds = new(StringComparer.Ordinal) { [config.BosToken] = BosId, [config.EosToken] = EosId };
    }

    public int BosId { get; }
    public int EosId { get; }
    /// <summary>Equals <see cref="EosId"/> for SD1.5.</summary>
    public int PadId { get; }
    public int UnkId { get; }
    /// <summary>model_max_length: 77 for SD1.5 (the text encoder's max_position_embeddings).</summary>
    public int MaxLength => Config.ModelMaxLength;
    public int VocabSize => idToToken.Length;
    public ClipTokenizerConfig Config { get; }

    /// <summary>Loads vocab.json and merges.txt, and the special tokens/model_max_length from the json configs when present.</summary>
    public static ClipTokenizer FromFolder(string tokenizerDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tokenizerDirectory);
        if (!Directory.Exists(tokenizerDirectory))
            throw new DirectoryNotFoundException($"CLIP tokenizer folder {tokenizerDirectory} does not exist");
        var vocabPath = RequireFile(tokenizerDirectory, VocabFile);
        var mergesPath = RequireFile(tokenizerDirectory, MergesFile);

        var (vocab, idToToken) = ReadVocab(vocabPath);
        var merges = ReadMerges(mergesPath, vocab);
        var config = ClipTokenizerConfig.FromFolder(tokenizerDirectory);

        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            EndOfWordSuffix = EndOfWord,
            ByteLevel = true,
        });
        return new ClipTokenizer(bpe, idToToken, vocab, config, tokenizerDirectory);
    }

    /// <summary>Token ids of <paramref name="text"/> with BOS and EOS, neither padded nor truncated.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int> { BosId };
        foreach (var word in ClipPreTokenizer.Split(ClipTextNormalizer.Clean(text)))
        {
            // simple_tokenizer keeps its two special tokens whole (its bpe cache is seeded with them).
            if (specialTokenIds.TryGetValue(word, out var specialId))
                ids.Add(specialId);
            else
                ids.AddRange(EncodeWord(word));
        }
        ids.Add(EosId);
        return ids;
    }

    /// <summary>
    /// Prompts as the diffusers pipeline tokenizes them (padding="max_length", truncation=True): BOS, at most
    /// length-2 content tokens, EOS, then pad ids up to <paramref name="maxLength"/> (default <see cref="MaxLength"/>).
    /// </summary>
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int length = maxLength ?? MaxLength;
        if (length < 2)
            throw new ArgumentOutOfRangeException(nameof(maxLength), length, "must leave room for BOS and EOS (at least 2)");
        var ids = new long[texts.Count, length];
        var reports = new PromptTruncation[texts.Count];
        for (int row = 0; row < texts.Count; row++)
        {
            var encoded = Encode(texts[row] ?? throw new ArgumentException($"prompt {row} is null", nameof(texts)));
            int dropped = Math.Max(0, encoded.Count - length);
            int kept = encoded.Count - dropped;
            // The last kept position holds EOS, so what goes are the content tokens just before it.
            for (int j = 0; j < kept - 1; j++)
                ids[row, j] = encoded[j];
            ids[row, kept - 1] = EosId;
            for (int j = kept; j < length; j++)
                ids[row, j] = PadId;
            var droppedText = dropped > 0 ? Decode(encoded.Skip(kept - 1).Take(dropped)) : null;
            reports[row] = new PromptTruncation(encoded.Count, dropped, droppedText);
        }
        return new TokenizedBatch(ids, reports);
    }

    /// <summary>
    /// Text of <paramref name="ids"/> for diagnostics, as transformers decodes it: byte-level symbols back to UTF-8
    /// (invalid sequences become U+FFFD), "&lt;/w&gt;" as a space, trimmed. Special tokens are left out unless asked for.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)idToToken.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocabulary [0, {idToToken.Length})");
            if (skipSpecialTokens && specialIds.Contains(id))
                continue;
            foreach (var c in idToToken[id])
                if (ClipByteEncoding.CharToByte.TryGetValue(c, out var b))
                    bytes.Add(b);
                else
                    bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        return Encoding.UTF8.GetString(bytes.ToArray()).Replace(EndOfWord, " ", StringComparison.Ordinal).Trim();
    }

    /// <summary>The vocabulary string of <paramref name="id"/> (byte-level symbols, "&lt;/w&gt;" included).</summary>
    public string IdToToken(int id) => (uint)id < (uint)idToToken.Length
        ? idToToken[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary [0, {idToToken.Length})");

    int[] EncodeWord(string word)
    {
        if (wordCache.TryGetValue(word, out var cached))
            return cached;
        var ids = bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false).ToArray();
        if (Volatile.Read(ref cachedWords) < MaxCachedWords && wordCache.TryAdd(word, ids))
            Interlocked.Increment(ref cachedWords);
        return ids;
    }

    static string RequireFile(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"CLIP tokenizer file {path} is missing (a diffusers tokenizer/ folder needs {VocabFile} and {MergesFile})", path);
        return path;
    }

    static (Dictionary<string, int> Vocab, string[] IdToToken) ReadVocab(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object of token → id");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                    throw new InvalidDataException($"{path}: token \"{entry.Name}\" has id {entry.Value.GetRawText()}, expected a non-negative integer");
                if (!vocab.TryAdd(entry.Name, id))
                    throw new InvalidDataException($"{path}: token \"{entry.Name}\" appears twice");
            }
            if (vocab.Count == 0)
                throw new InvalidDataException($"{path}: the vocabulary is empty");
            var idToToken = new string?[vocab.Count];
            foreach (var (token, id) in vocab)
            {
                if (id >= idToToken.Length)
                    throw new InvalidDataException($"{path}: id {id} of \"{token}\" is outside 0..{vocab.Count - 1}; ids must be contiguous");
                if (idToToken[id] is { } other)
                    throw new InvalidDataException($"{path}: id {id} is used by both \"{other}\" and \"{token}\"");
                idToToken[id] = token;
            }
            // Every byte symbol, bare and word-final, must exist, or BPE could silently drop characters.
            foreach (var c in ClipByteEncoding.ByteToChar)
                foreach (var symbol in new[] { c.ToString(), c + EndOfWord })
                    if (!vocab.ContainsKey(symbol))
                        throw new InvalidDataException($"{path}: byte-level symbol \"{symbol}\" is missing; not a CLIP byte-level BPE vocabulary");
            // Count entries with distinct ids below Count: every slot is filled.
            return (vocab, Array.ConvertAll(idToToken, token => token!));
        }
    }

    static List<string> ReadMerges(string path, Dictionary<string, int> vocab)
    {
        var merges = new List<string>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
                continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new InvalidDataException($"{path} line {lineNumber}: expected two symbols separated by one space, got \"{line}\"");
            if (!vocab.ContainsKey(parts[0] + parts[1]))
                throw new InvalidDataException($"{path} line {lineNumber}: the merge result \"{parts[0] + parts[1]}\" is not in {VocabFile}");
            merges.Add(line);
        }
        if (merges.Count == 0)
            throw new InvalidDataException($"{path}: no merges found");
        return merges;
    }
}
