using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Diffusion.Configuration;
using SeLoRA.Diffusion.Models.Clip;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// transformers' CLIPVisionConfig: the "vision_config" of a CLIPModel config.json. Defaults are transformers'
/// (the openai/clip-vit-base-patch32 vision tower).
/// </summary>
public sealed record ClipVisionConfig
{
    public long HiddenSize { get; init; } = 768;
    public long IntermediateSize { get; init; } = 3072;
    /// <summary>Only CLIPVisionModelWithProjection reads it; CLIPModel projects to the top-level projection_dim.</summary>
    public long ProjectionDim { get; init; } = 512;
    public int NumHiddenLayers { get; init; } = 12;
    public long NumAttentionHeads { get; init; } = 12;
    public long NumChannels { get; init; } = 3;
    public long ImageSize { get; init; } = 224;
    public long PatchSize { get; init; } = 32;
    /// <summary>"quick_gelu" for the OpenAI checkpoints.</summary>
    public string HiddenAct { get; init; } = "quick_gelu";
    public double LayerNormEps { get; init; } = 1e-5;
    public double AttentionDropout { get; init; }

    /// <summary>Patches per side of the square input.</summary>
    public long GridSize => ImageSize / PatchSize;

    /// <summary>Patches plus the class token.</summary>
    public long NumPositions => GridSize * GridSize + 1;

    /// <summary>Reads a CLIPVisionConfig object, or a full CLIPConfig whose "vision_config" holds it.</summary>
    public static ClipVisionConfig FromJson(JsonElement root, string source = "config.json")
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("vision_config", out var nested)
            && nested.ValueKind == JsonValueKind.Object)
            root = nested;
        var json = new ConfigJson(root, source);
        var d = new ClipVisionConfig();
        var config = new ClipVisionConfig
        {
            HiddenSize = json.Long("hidden_size", d.HiddenSize),
            IntermediateSize = json.Long("intermediate_size", d.IntermediateSize),
            ProjectionDim = json.Long("projection_dim", d.ProjectionDim),
            NumHiddenLayers = json.Int("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = json.Long("num_attention_heads", d.NumAttentionHeads),
            NumChannels = json.Long("num_channels", d.NumChannels),
            ImageSize = json.Long("image_size", d.ImageSize),
            PatchSize = json.Long("patch_size", d.PatchSize),
            HiddenAct = json.String("hidden_act", d.HiddenAct),
            LayerNormEps = json.Double("layer_norm_eps", d.LayerNormEps),
            AttentionDropout = json.Double("attention_dropout", d.AttentionDropout),
        };
        config.Validate(source + " vision_config");
        return config;
    }

    /// <summary>Throws naming the offending field when the values cannot build a vision tower.</summary>
    public void Validate(string source = "ClipVisionConfig")
    {
        static void Positive(string source, string field, double value)
        {
            if (value <= 0) throw new FormatException($"{source}: {field} must be positive, got {value.ToString(CultureInfo.InvariantCulture)}.");
        }

        Positive(source, "hidden_size", HiddenSize);
        Positive(source, "intermediate_size", IntermediateSize);
        Positive(source, "num_hidden_layers", NumHiddenLayers);
        Positive(source, "num_attention_heads", NumAttentionHeads);
        Positive(source, "num_channels", NumChannels);
        Positive(source, "image_size", ImageSize);
        Positive(source, "patch_size", PatchSize);
        Positive(source, "layer_norm_eps", LayerNormEps);
        if (HiddenSize % NumAttentionHeads != 0)
            throw new FormatException($"{source}: hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}.");
        if (PatchSize > ImageSize)
            throw new FormatException($"{source}: patch_size {PatchSize} is larger than image_size {ImageSize}.");
        if (AttentionDropout is < 0 or >= 1)
            throw new FormatException($"{source}: attention_dropout must be in [0, 1), got {AttentionDropout.ToString(CultureInfo.InvariantCulture)}.");
        if (!ClipActivation.IsSupported(HiddenAct))
            throw new FormatException($"{source}: hidden_act \"{HiddenAct}\" is not supported (use {string.Join(", ", ClipActivation.Supported)}).");
    }

    /// <summary>
    /// The shared CLIP encoder (SeLoRA.Diffusion's ClipEncoder) reads only the width, depth, heads, activation, eps and
    /// dropout from its config, so the vision tower builds it from a text config carrying these values.
    /// </summary>
    internal ClipTextConfig ToEncoderConfig() => new()
    {
        HiddenSize = HiddenSize,
        IntermediateSize = IntermediateSize,
        NumHiddenLayers = NumHiddenLayers,
        NumAttentionHeads = NumAttentionHeads,
        HiddenAct = HiddenAct,
        LayerNormEps = LayerNormEps,
        AttentionDropout = AttentionDropout,
    };

    /// <summary>The "vision_config" object transformers writes (the fields this port reads).</summary>
    public JsonObject ToJson() => new()
    {
        ["attention_dropout"] = AttentionDropout,
        ["hidden_act"] = HiddenAct,
        ["hidden_size"] = HiddenSize,
        ["image_size"] = ImageSize,
        ["intermediate_size"] = IntermediateSize,
        ["layer_norm_eps"] = LayerNormEps,
        ["model_type"] = "clip_vision_model",
        ["num_attention_heads"] = NumAttentionHeads,
        ["num_channels"] = NumChannels,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["patch_size"] = PatchSize,
        ["projection_dim"] = ProjectionDim,
    };
}
