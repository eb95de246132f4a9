using System.Text.Json;

namespace SeLoRA.Diffusion.Models;

/// <summary>
/// diffusers <c>UNet2DConditionModel</c> config (config.json field names, diffusers v0.24 defaults for absent fields).
/// Per-block fields that config.json may give as one number or a list (layers_per_block, attention_head_dim, ...) are
/// held as one entry per down block. Only the features SD1.x/2.x use are supported; <see cref="FromJson(string)"/>
/// rejects the others by name.
/// </summary>
public sealed record Unet2DConditionConfig
{
    public long? SampleSize { get; init; }
    public long InChannels { get; init; } = 4;
    public long OutChannels { get; init; } = 4;
    public bool CenterInputSample { get; init; }
    public bool FlipSinToCos { get; init; } = true;
    public double FreqShift { get; init; }
    public IReadOnlyList<string> DownBlockTypes { get; init; } =
        ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];
    /// <summary>"UNetMidBlock2DCrossAttn", or null for no mid block.</summary>
    public string? MidBlockType { get; init; } = "UNetMidBlock2DCrossAttn";
    public IReadOnlyList<string> UpBlockTypes { get; init; } =
        ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];
    public IReadOnlyList<bool> OnlyCrossAttention { get; init; } = [false, false, false, false];
    public IReadOnlyList<long> BlockOutChannels { get; init; } = [320, 640, 1280, 1280];
    public IReadOnlyList<long> LayersPerBlock { get; init; } = [2, 2, 2, 2];
    public long DownsamplePadding { get; init; } = 1;
    public double MidBlockScaleFactor { get; init; } = 1;
    public double Dropout { get; init; }
    public string ActFn { get; init; } = "silu";
    public long NormNumGroups { get; init; } = 32;
    public double NormEps { get; init; } = 1e-5;
    public IReadOnlyList<long> CrossAttentionDim { get; init; } = [1280, 1280, 1280, 1280];
    public IReadOnlyList<long> TransformerLayersPerBlock { get; init; } = [1, 1, 1, 1];
    /// <summary>Legacy name: with <see cref="NumAttentionHeads"/> null this is the number of heads per block.</summary>
    public IReadOnlyList<long> AttentionHeadDim { get; init; } = [8, 8, 8, 8];
    public IReadOnlyList<long>? NumAttentionHeads { get; init; }
    public bool UseLinearProjection { get; init; }
    public bool UpcastAttention { get; init; }
    public string ResnetTimeScaleShift { get; init; } = "default";
    public string TimeEmbeddingType { get; init; } = "positional";
    public long? TimeEmbeddingDim { get; init; }
    public long ConvInKernel { get; init; } = 3;
    public long ConvOutKernel { get; init; } = 3;
    public string AttentionType { get; init; } = "default";

    /// <summary>Heads per down block: num_attention_heads, else (legacy) attention_head_dim.</summary>
    public IReadOnlyList<long> HeadsPerBlock => NumAttentionHeads ?? AttentionHeadDim;

    /// <summary>SD1.5's unet/config.json.</summary>
    public static Unet2DConditionConfig StableDiffusion15 { get; } = new()
    {
        SampleSize = 64, CrossAttentionDim = [768, 768, 768, 768],
    };

    public static Unet2DConditionConfig FromJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"UNet config {path} not found.", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return FromJson(doc.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new FormatException($"UNet config {path} is not valid JSON: {e.Message}", e);
        }
    }

    public static Unet2DConditionConfig FromJson(JsonElement root, string source = "config.json")
    {
        var r = new Reader(root, source);
        foreach (var field in new[]
                 {
                     "encoder_hid_dim", "encoder_hid_dim_type", "class_embed_type", "addition_embed_type", "num_class_embeds",
                     "time_embedding_act_fn", "timestep_post_act", "time_cond_proj_dim", "projection_class_embeddings_input_dim",
                     "cross_attention_norm", "addition_time_embed_dim", "reverse_transformer_layers_per_block",
                 })
            r.RequireNullOrAbsent(field);
        r.RequireValue("dual_cross_attention", false);
        r.RequireValue("class_embeddings_concat", false);

        var defaults = new Unet2DConditionConfig();
        var down = r.Strings("down_block_types") ?? defaults.DownBlockTypes;
        var n = down.Count;
        var config = new Unet2DConditionConfig
        {
            SampleSize = r.NullableLong("sample_size"),
            InChannels = r.Long("in_channels", defaults.InChannels),
            OutChannels = r.Long("out_channels", defaults.OutChannels),
            CenterInputSample = r.Bool("center_input_sample", false),
            FlipSinToCos = r.Bool("flip_sin_to_cos", true),
            FreqShift = r.Double("freq_shift", 0),
            DownBlockTypes = down,
            MidBlockType = r.Has("mid_block_type") ? r.NullableString("mid_block_type") : defaults.MidBlockType,
            UpBlockTypes = r.Strings("up_block_types") ?? defaults.UpBlockTypes,
            OnlyCrossAttention = r.BoolPerBlock("only_cross_attention", false, n),
            BlockOutChannels = r.Longs("block_out_channels") ?? defaults.BlockOutChannels,
            LayersPerBlock = r.LongPerBlock("layers_per_block", 2, n),
            DownsamplePadding = r.Long("downsample_padding", 1),
            MidBlockScaleFactor = r.Double("mid_block_scale_factor", 1),
            Dropout = r.Double("dropout", 0),
            ActFn = r.String("act_fn", "silu"),
            NormNumGroups = r.NullableLong("norm_num_groups", 32)
                ?? throw r.Error("norm_num_groups", "null (no output GroupNorm) is not supported"),
            NormEps = r.Double("norm_eps", 1e-5),
            CrossAttentionDim = r.LongPerBlock("cross_attention_dim", 1280, n),
            TransformerLayersPerBlock = r.LongPerBlock("transformer_layers_per_block", 1, n),
            AttentionHeadDim = r.LongPerBlock("attention_head_dim", 8, n),
            NumAttentionHeads = r.IsSet("num_attention_heads") ? r.LongPerBlock("num_attention_heads", 0, n) : null,
            UseLinearProjection = r.Bool("use_linear_projection", false),
            UpcastAttention = r.Bool("upcast_attention", false),
            ResnetTimeScaleShift = r.String("resnet_time_scale_shift", "default"),
            TimeEmbeddingType = r.String("time_embedding_type", "positional"),
            TimeEmbeddingDim = r.NullableLong("time_embedding_dim"),
            ConvInKernel = r.Long("conv_in_kernel", 3),
            ConvOutKernel = r.Long("conv_out_kernel", 3),
            AttentionType = r.String("attention_type", "default"),
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Throws (naming <paramref name="source"/> and the field) when the config is inconsistent or unsupported.</summary>
    public void Validate(string source = "UNet config")
    {
        var n = DownBlockTypes.Count;
        void Check(bool ok, string field, string message)
        {
            if (!ok) throw new FormatException($"{source}: {field}: {message}");
        }
        Check(n > 0, "down_block_types", "must not be empty");
        Check(UpBlockTypes.Count == n, "up_block_types", $"has {UpBlockTypes.Count} entries, down_block_types has {n}");
        Check(BlockOutChannels.Count == n, "block_out_channels", $"has {BlockOutChannels.Count} entries, down_block_types has {n}");
        foreach (var (name, count) in new[]
                 {
                     ("only_cross_attention", OnlyCrossAttention.Count), ("layers_per_block", LayersPerBlock.Count),
                     ("cross_attention_dim", CrossAttentionDim.Count), ("transformer_layers_per_block", TransformerLayersPerBlock.Count),
                     ("attention_head_dim", AttentionHeadDim.Count), ("num_attention_heads", NumAttentionHeads?.Count ?? n),
                 })
            Check(count == n, name, $"has {count} entries, down_block_types has {n}");
        foreach (var t in DownBlockTypes)
            Check(t is "CrossAttnDownBlock2D" or "DownBlock2D", "down_block_types", $"'{t}' is not supported (CrossAttnDownBlock2D, DownBlock2D)");
        foreach (var t in UpBlockTypes)
            Check(t is "CrossAttnUpBlock2D" or "UpBlock2D", "up_block_types", $"'{t}' is not supported (CrossAttnUpBlock2D, UpBlock2D)");
        Check(MidBlockType is null or "UNetMidBlock2DCrossAttn", "mid_block_type", $"'{MidBlockType}' is not supported (UNetMidBlock2DCrossAttn or null)");
        Check(TimeEmbeddingType == "positional", "time_embedding_type", $"'{TimeEmbeddingType}' is not supported (positional)");
        Check(AttentionType == "default", "attention_type", $"'{AttentionType}' is not supported (default)");
        Check(ResnetTimeScaleShift is "default" or "scale_shift", "resnet_time_scale_shift", $"'{ResnetTimeScaleShift}' is not supported (default, scale_shift)");
        Check(ConvInKernel % 2 == 1 && ConvOutKernel % 2 == 1, "conv_in_kernel/conv_out_kernel", "must be odd");
        for (var i = 0; i < n; i++)
            Check(BlockOutChannels[i] % HeadsPerBlock[i] == 0, NumAttentionHeads is null ? "attention_head_dim" : "num_attention_heads",
                $"block {i}: {BlockOutChannels[i]} channels do not split into {HeadsPerBlock[i]} heads");
    }

    /// <summary>Typed, defaulted access to config.json fields, with errors that name the source and the field.</summary>
    private readonly struct Reader(JsonElement root, string source)
    {
        public FormatException Error(string field, string message) => new($"{source}: {field}: {message}");

        public bool Has(string field) => root.TryGetProperty(field, out _);

        bool TryGet(string field, out JsonElement value) =>
            root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

        public void RequireNullOrAbsent(string field)
        {
            if (TryGet(field, out var v)) throw Error(field, $"{v.GetRawText()} is not supported (only null)");
        }

        public void RequireValue(string field, bool expected)
        {
            if (TryGet(field, out var v) && (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False) || v.GetBoolean() != expected))
                throw Error(field, $"{v.GetRawText()} is not supported (only {expected.ToString().ToLowerInvariant()})");
        }

        long AsLong(string field, JsonElement v) =>
            v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var x) ? x
            : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && d == Math.Floor(d) ? (long)d
            : throw Error(field, $"expected an integer, got {v.GetRawText()}");

        bool AsBool(string field, JsonElement v) =>
            v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
            : throw Error(field, $"expected true or false, got {v.GetRawText()}");

        public long Long(string field, long fallback) => TryGet(field, out var v) ? AsLong(field, v) : fallback;

        public long? NullableLong(string field, long? fallback = null) =>
            root.TryGetProperty(field, out var v) ? (v.ValueKind == JsonValueKind.Null ? null : AsLong(field, v)) : fallback;

        public double Double(string field, double fallback) =>
            !TryGet(field, out var v) ? fallback
            : v.ValueKind == JsonValueKind.Number ? v.GetDouble()
            : throw Error(field, $"expected a number, got {v.GetRawText()}");

        public bool Bool(string field, bool fallback) => TryGet(field, out var v) ? AsBool(field, v) : fallback;

        public string String(string field, string fallback) => NullableString(field) ?? fallback;

        public bool IsSet(string field) => TryGet(field, out _);

        public string? NullableString(string field) =>
            !TryGet(field, out var v) ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw Error(field, $"expected a string, got {v.GetRawText()}");

        public IReadOnlyList<string>? Strings(string field) =>
            !TryGet(field, out var v) ? null
            : v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                ? v.EnumerateArray().Select(e => e.GetString()!).ToArray()
                : throw Error(field, $"expected a list of strings, got {v.GetRawText()}");

        public IReadOnlyList<long>? Longs(string field)
        {
            if (!TryGet(field, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Array) throw Error(field, $"expected a list of integers, got {v.GetRawText()}");
            var self = this;
            return v.EnumerateArray().Select(e => self.AsLong(field, e)).ToArray();
        }

        /// <summary>A number (repeated for every block) or a list with one entry per block.</summary>
        public IReadOnlyList<long> LongPerBlock(string field, long fallback, int blocks)
        {
            if (!TryGet(field, out var v)) return Enumerable.Repeat(fallback, blocks).ToArray();
            if (v.ValueKind == JsonValueKind.Array)
            {
                if (v.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Array))
                    throw Error(field, "nested per-layer lists are not supported");
                return Longs(field)!;
            }
            return Enumerable.Repeat(AsLong(field, v), blocks).ToArray();
        }

        public IReadOnlyList<bool> BoolPerBlock(string field, bool fallback, int blocks)
        {
            if (!TryGet(field, out var v)) return Enumerable.Repeat(fallback, blocks).ToArray();
            var self = this;
            return v.ValueKind == JsonValueKind.Array
                ? v.EnumerateArray().Select(e => self.AsBool(field, e)).ToArray()
                : Enumerable.Repeat(AsBool(field, v), blocks).ToArray();
        }
    }
}
