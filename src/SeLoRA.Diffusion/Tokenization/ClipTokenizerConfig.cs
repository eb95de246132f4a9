using System.Text.Json;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>
/// Special tokens and length limit of a transformers CLIPTokenizer, from <c>tokenizer_config.json</c> and then
/// <c>special_tokens_map.json</c> (which wins, as in transformers). Absent files or fields keep the SD1.5 values.
/// </summary>
public sealed record ClipTokenizerConfig
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";

    // transformers writes int(1e30) as model_max_length when a tokenizer has no limit.
    const long UnboundedLength = 1_000_000;

    public string BosToken { get; init; } = "<|startoftext|>";
    public string EosToken { get; init; } = "<|endoftext|>";
    /// <summary>SD1.5 pads with EOS (49407), not with id 0.</summary>
    public string PadToken { get; init; } = "<|endoftext|>";
    public string UnkToken { get; init; } = "<|endoftext|>";
    public int ModelMaxLength { get; init; } = 77;

    public static ClipTokenizerConfig Default { get; } = new();

    /// <summary>Reads whichever of the two json files the folder has.</summary>
    public static ClipTokenizerConfig FromFolder(string tokenizerDirectory)
    {
        var config = Default;
        foreach (var name in new[] { TokenizerConfigFile, SpecialTokensMapFile })
        {
            var path = Path.Combine(tokenizerDirectory, name);
            if (File.Exists(path))
                config = config.MergeJson(path);
        }
        return config;
    }

    /// <summary>A copy with the fields present in <paramref name="path"/> taken from it.</summary>
    public ClipTokenizerConfig MergeJson(string path)
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
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object at the top level");
            return this with
            {
                BosToken = Token(root, "bos_token", path) ?? BosToken,
                EosToken = Token(root, "eos_token", path) ?? EosToken,
                PadToken = Token(root, "pad_token", path) ?? PadToken,
                UnkToken = Token(root, "unk_token", path) ?? UnkToken,
                ModelMaxLength = MaxLength(root, path) ?? ModelMaxLength,
            };
        }
    }

    // A special token is written either as a string or as an AddedToken object with "content".
    static string? Token(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString();
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content)
            && content.ValueKind == JsonValueKind.String)
            return content.GetString();
        throw new InvalidDataException($"{path}: \"{key}\" must be a string or an object with a string \"content\"");
    }

    static int? MaxLength(JsonElement root, string path)
    {
        if (!root.TryGetProperty("model_max_length", out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number < 2 || number != Math.Floor(number))
            throw new InvalidDataException($"{path}: \"model_max_length\" must be an integer of at least 2");
        return number >= UnboundedLength ? null : (int)number;
    }
}
