using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeLoRA.Diffusion.Presets;

/// <summary>
/// Architectures known by name, as the config.json each component would have in a diffusers folder.
/// "sd15" is Stable Diffusion v1.5 (written from its published architecture, so the full model can be built,
/// inspected and benchmarked without its weights); "tiny" is the same classes at toy size for tests and CPU work.
/// </summary>
public static class ModelPresets
{
    public const string Sd15 = "sd15";
    public const string Tiny = "tiny";

    public static IReadOnlyList<string> Names { get; } = [Sd15, Tiny];

    public static IReadOnlyList<string> Components { get; } = ["unet", "vae", "text_encoder", "scheduler"];

    public static bool IsPreset(string name) => Names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The config.json of one component of a preset.</summary>
    public static JsonObject Config(string preset, string component)
    {
        var text = (preset.ToLowerInvariant(), component) switch
        {
            (Sd15, "unet") => UnetJson(blocks: [320, 640, 1280, 1280], layers: 2, heads: 8, cross: 768, sampleSize: 64, groups: 32),
            (Tiny, "unet") => UnetJson(blocks: [32, 64], layers: 1, heads: 8, cross: 32, sampleSize: 8, groups: 8),
            (Sd15, "vae") => VaeJson(blocks: [128, 256, 512, 512], layers: 2, groups: 32, sampleSize: 512),
            (Tiny, "vae") => VaeJson(blocks: [16, 32, 64, 64], layers: 1, groups: 16, sampleSize: 64),
            (Sd15, "text_encoder") => ClipJson(hidden: 768, intermediate: 3072, layers: 12, heads: 12, eos: 2),
            (Tiny, "text_encoder") => ClipJson(hidden: 32, intermediate: 64, layers: 2, heads: 4, eos: 49407),
            (Sd15 or Tiny, "scheduler") => SchedulerJson,
            _ => throw new ArgumentException(
                $"no preset component {preset}/{component}; presets: {string.Join(", ", Names)}; components: {string.Join(", ", Components)}."),
        };
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>The same config as a JsonElement, ready for a config record's FromJson.</summary>
    public static JsonElement ConfigElement(string preset, string component) =>
        JsonSerializer.SerializeToElement(Config(preset, component));

    static string Ints(int[] values) => "[" + string.Join(", ", values) + "]";

    static string Repeat(string value, int count) => "[" + string.Join(", ", Enumerable.Repeat($"\"{value}\"", count)) + "]";

    // The first down blocks attend and the last does not; the up path mirrors it (SD1.5's layout at any depth).
    static string UnetJson(int[] blocks, int layers, int heads, int cross, int sampleSize, int groups)
    {
        var n = blocks.Length;
        var down = Enumerable.Repeat("\"CrossAttnDownBlock2D\"", n - 1).Append("\"DownBlock2D\"");
        var up = new[] { "\"UpBlock2D\"" }.Concat(Enumerable.Repeat("\"CrossAttnUpBlock2D\"", n - 1));
        return $$"""
        {
          "_class_name": "UNet2DConditionModel",
          "act_fn": "silu",
          "attention_head_dim": {{heads}},
          "block_out_channels": {{Ints(blocks)}},
          "center_input_sample": false,
          "cross_attention_dim": {{cross}},
          "down_block_types": [{{string.Join(", ", down)}}],
          "downsample_padding": 1,
          "flip_sin_to_cos": true,
          "freq_shift": 0,
          "in_channels": 4,
          "layers_per_block": {{layers}},
          "mid_block_scale_factor": 1,
          "norm_eps": 1e-05,
          "norm_num_groups": {{groups}},
          "out_channels": 4,
          "sample_size": {{sampleSize}},
          "up_block_types": [{{string.Join(", ", up)}}]
        }
        """;
    }

    static string VaeJson(int[] blocks, int layers, int groups, int sampleSize) => $$"""
        {
          "_class_name": "AutoencoderKL",
          "act_fn": "silu",
          "block_out_channels": {{Ints(blocks)}},
          "down_block_types": {{Repeat("DownEncoderBlock2D", blocks.Length)}},
          "in_channels": 3,
          "latent_channels": 4,
          "layers_per_block": {{layers}},
          "norm_num_groups": {{groups}},
          "out_channels": 3,
          "sample_size": {{sampleSize}},
          "scaling_factor": 0.18215,
          "up_block_types": {{Repeat("UpDecoderBlock2D", blocks.Length)}}
        }
        """;

    // eos_token_id 2 is SD1.5's legacy value (transformers then pools at the argmax id); the tiny model states the real id.
    static string ClipJson(int hidden, int intermediate, int layers, int heads, int eos) => $$"""
        {
          "architectures": ["CLIPTextModel"],
          "attention_dropout": 0.0,
          "bos_token_id": {{(eos == 2 ? 0 : 49406)}},
          "dropout": 0.0,
          "eos_token_id": {{eos}},
          "hidden_act": "quick_gelu",
          "hidden_size": {{hidden}},
          "intermediate_size": {{intermediate}},
          "layer_norm_eps": 1e-05,
          "max_position_embeddings": 77,
          "model_type": "clip_text_model",
          "num_attention_heads": {{heads}},
          "num_hidden_layers": {{layers}},
          "pad_token_id": {{(eos == 2 ? 1 : 49407)}},
          "torch_dtype": "float32",
          "vocab_size": 49408
        }
        """;

    const string SchedulerJson = """
        {
          "_class_name": "PNDMScheduler",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "num_train_timesteps": 1000,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1
        }
        """;
}
