using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Diffusion.Configuration;
using SeLoRA.Diffusion.Models.Clip;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// transformers' CLIPConfig: a text tower, a vision tower and the shared projection. Defaults are transformers'
/// (projection_dim 512, logit_scale_init_value 2.6592 = ln(1/0.07)).
/// </summary>
public sealed record ClipConfig
{
    public ClipTextConfig TextConfig { get; init; } = new();
    public ClipVisionConfig VisionConfig { get; init; } = new();
    public long ProjectionDim { get; init; } = 512;
    public double LogitScaleInitValue { get; init; } = 2.6592;

    /// <summary>Reads a CLIPModel config.json (it must hold both "text_config" and "vision_config").</summary>
    public static ClipConfig FromJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CLIP config {path} does not exist.", path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not valid JSON ({e.Message}).", e);
        }
        using (document)
            return FromJson(document.RootElement, path);
    }

    public static ClipConfig FromJson(JsonElement root, string source = "config.json")
    {
        var json = new ConfigJson(root, source);
        foreach (var part in new[] { "text_config", "vision_config" })
            if (!root.TryGetProperty(part, out var nested) || nested.ValueKind != JsonValueKind.Object)
                throw new FormatException(
                    $"{source}: no \"{part}\" object; this is not a CLIPModel config, which needs both \"text_config\" and \"vision_config\" (a CLIPTextModel or CLIPVisionModel folder has only one tower).");
        var d = new ClipConfig();
        var config = new ClipConfig
        {
            TextConfig = ClipTextConfig.FromJson(root, source + " text_config"),
            VisionConfig = ClipVisionConfig.FromJson(root, source),
            ProjectionDim = json.Long("projection_dim", d.ProjectionDim),
            LogitScaleInitValue = json.Double("logit_scale_init_value", d.LogitScaleInitValue),
        };
        json.Require(config.ProjectionDim > 0, "projection_dim", "must be positive");
        return config;
    }

    /// <summary>config.json as transformers writes a CLIPModel's (the fields this port reads, plus the architecture).</summary>
    public JsonObject ToJson()
    {
        var t = TextConfig;
        return new JsonObject
        {
            ["architectures"] = new JsonArray("CLIPModel"),
            ["initializer_factor"] = 1.0,
            ["logit_scale_init_value"] = LogitScaleInitValue,
            ["model_type"] = "clip",
            ["projection_dim"] = ProjectionDim,
            ["text_config"] = new JsonObject
            {
                ["attention_dropout"] = t.AttentionDropout,
                ["bos_token_id"] = t.BosTokenId,
                ["eos_token_id"] = t.EosTokenId,
                ["hidden_act"] = t.HiddenAct,
                ["hidden_size"] = t.HiddenSize,
                ["intermediate_size"] = t.IntermediateSize,
                ["layer_norm_eps"] = t.LayerNormEps,
                ["max_position_embeddings"] = t.MaxPositionEmbeddings,
                ["model_type"] = "clip_text_model",
                ["num_attention_heads"] = t.NumAttentionHeads,
                ["num_hidden_layers"] = t.NumHiddenLayers,
                ["pad_token_id"] = t.PadTokenId,
                ["projection_dim"] = ProjectionDim,
                ["vocab_size"] = t.VocabSize,
            },
            ["torch_dtype"] = "float32",
            ["vision_config"] = VisionConfig.ToJson(),
        };
    }
}
