using System.Globalization;
using SeLoRA.Diffusion.Configuration;
using System.Text.Json;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>
/// transformers' CLIPTextConfig: the fields of a CLIP text encoder's config.json that shape the model.
/// Defaults are transformers' (the openai/clip-vit-base-patch32 text tower); projection_dim and the initialiser
/// settings are not read because CLIPTextModel has no projection and weights always come from a file or a seed.
/// </summary>
public sealed record ClipTextConfig
{
    public long VocabSize { get; init; } = 49408;
    public long HiddenSize { get; init; } = 512;
    public long IntermediateSize { get; init; } = 2048;
    public int NumHiddenLayers { get; init; } = 12;
    public long NumAttentionHeads { get; init; } = 8;
    public long MaxPositionEmbeddings { get; init; } = 77;
    /// <summary>"quick_gelu" (x·sigmoid(1.702x), OpenAI CLIP), "gelu" (exact erf) or "gelu_new" (tanh approximation).</summary>
    public string HiddenAct { get; init; } = "quick_gelu";
    public double LayerNormEps { get; init; } = 1e-5;
    public double AttentionDropout { get; init; }
    public long PadTokenId { get; init; } = 1;
    public long BosTokenId { get; init; } = 49406;
    public long EosTokenId { get; init; } = 49407;

    /// <summary>SD1.5's text_encoder/config.json (openai/clip-vit-large-patch14 text tower, legacy token ids).</summary>
    public static ClipTextConfig Sd15 { get; } = new()
    {
        VocabSize = 49408,
        HiddenSize = 768,
        IntermediateSize = 3072,
        NumHiddenLayers = 12,
        NumAttentionHeads = 12,
        MaxPositionEmbeddings = 77,
        HiddenAct = "quick_gelu",
        LayerNormEps = 1e-5,
        PadTokenId = 1,
        BosTokenId = 0,
        EosTokenId = 2,
    };

    public long HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>
    /// Configs written before transformers PR #24773 carry eos_token_id 2 (SD1.5 does); for those transformers pools at
    /// the largest input id, which is the EOS token 49407 of the CLIP vocabulary.
    /// </summary>
    public bool UsesLegacyEosPooling => EosTokenId == 2;

    public static ClipTextConfig FromJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CLIP text config {path} does not exist.", path);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return FromJson(document.RootElement, path);
    }

    /// <summary>Reads a CLIPTextConfig object, or a full CLIPConfig whose "text_config" holds it.</summary>
    public static ClipTextConfig FromJson(JsonElement root, string source = "config.json")
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{source}: expected a JSON object, found {root.ValueKind}.");
        if (root.TryGetProperty("text_config", out var nested) && nested.ValueKind == JsonValueKind.Object)
            root = nested;

        var json = new ConfigJson(root, source);
        var defaults = new ClipTextConfig();
        var config = new ClipTextConfig
        {
            VocabSize = json.Long("vocab_size", defaults.VocabSize),
            HiddenSize = json.Long("hidden_size", defaults.HiddenSize),
            IntermediateSize = json.Long("intermediate_size", defaults.IntermediateSize),
            NumHiddenLayers = checked((int)json.Long("num_hidden_layers", defaults.NumHiddenLayers)),
            NumAttentionHeads = json.Long("num_attention_heads", defaults.NumAttentionHeads),
            MaxPositionEmbeddings = json.Long("max_position_embeddings", defaults.MaxPositionEmbeddings),
            HiddenAct = json.String("hidden_act", defaults.HiddenAct),
            LayerNormEps = json.Double("layer_norm_eps", defaults.LayerNormEps),
            AttentionDropout = json.Double("attention_dropout", defaults.AttentionDropout),
            PadTokenId = json.Long("pad_token_id", defaults.PadTokenId),
            BosTokenId = json.Long("bos_token_id", defaults.BosTokenId),
            EosTokenId = json.Long("eos_token_id", defaults.EosTokenId),
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Throws naming the offending field when the values cannot build a model.</summary>
    public void Validate(string source = "ClipTextConfig")
    {
        static void Positive(string source, string field, double value)
        {
            if (value <= 0) throw new FormatException($"{source}: {field} must be positive, got {value.ToString(CultureInfo.InvariantCulture)}.");
        }

        Positive(source, "vocab_size", VocabSize);
        Positive(source, "hidden_size", HiddenSize);
        Positive(source, "intermediate_size", IntermediateSize);
        Positive(source, "num_hidden_layers", NumHiddenLayers);
        Positive(source, "num_attention_heads", NumAttentionHeads);
        Positive(source, "max_position_embeddings", MaxPositionEmbeddings);
        Positive(source, "layer_norm_eps", LayerNormEps);
        if (HiddenSize % NumAttentionHeads != 0)
            throw new FormatException($"{source}: hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}.");
        if (AttentionDropout is < 0 or >= 1)
            throw new FormatException($"{source}: attention_dropout must be in [0, 1), got {AttentionDropout.ToString(CultureInfo.InvariantCulture)}.");
        if (!ClipActivation.IsSupported(HiddenAct))
            throw new FormatException($"{source}: hidden_act \"{HiddenAct}\" is not supported (use {string.Join(", ", ClipActivation.Supported)}).");
    }
}
