using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Diffusion.Configuration;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// The fields of transformers' CLIPImageProcessor (preprocessor_config.json). Defaults are transformers' and OpenAI's:
/// shortest edge 224, bicubic, centre crop 224x224, rescale 1/255, OpenAI CLIP mean and std. Both the old layout
/// (<c>"size": 224, "crop_size": 224</c>, as openai/clip-vit-large-patch14 has it) and the dict layout
/// (<c>{"shortest_edge": 224}</c>, <c>{"height": 224, "width": 224}</c>) are read.
/// </summary>
public sealed record ClipImageProcessorConfig
{
    public const string FileName = "preprocessor_config.json";

    public static IReadOnlyList<double> OpenAiMean { get; } = [0.48145466, 0.4578275, 0.40821073];
    public static IReadOnlyList<double> OpenAiStd { get; } = [0.26862954, 0.26130258, 0.27577711];

    public static ClipImageProcessorConfig Default { get; } = new();

    public bool DoResize { get; init; } = true;
    /// <summary>Resize so the shorter side has this length, keeping the aspect ratio; null when an exact size is given.</summary>
    public int? ShortestEdge { get; init; } = 224;
    /// <summary>Exact resize target (size {"height", "width"}), used when <see cref="ShortestEdge"/> is null.</summary>
    public int? ResizeHeight { get; init; }
    public int? ResizeWidth { get; init; }
    public PilResampleFilter Resample { get; init; } = PilResampleFilter.Bicubic;
    public bool DoCenterCrop { get; init; } = true;
    public int CropHeight { get; init; } = 224;
    public int CropWidth { get; init; } = 224;
    public bool DoRescale { get; init; } = true;
    public double RescaleFactor { get; init; } = 1.0 / 255;
    public bool DoNormalize { get; init; } = true;
    public IReadOnlyList<double> ImageMean { get; init; } = OpenAiMean;
    public IReadOnlyList<double> ImageStd { get; init; } = OpenAiStd;

    /// <summary>Reads preprocessor_config.json; absent fields keep the defaults.</summary>
    public static ClipImageProcessorConfig FromJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CLIP image processor config {path} does not exist.", path);
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

    public static ClipImageProcessorConfig FromJson(JsonElement root, string source = FileName)
    {
        var json = new ConfigJson(root, source);
        var d = Default;
        var config = new ClipImageProcessorConfig
        {
            DoResize = json.Bool("do_resize", d.DoResize),
            Resample = ReadResample(json, source),
            DoCenterCrop = json.Bool("do_center_crop", d.DoCenterCrop),
            DoRescale = json.Bool("do_rescale", d.DoRescale),
            RescaleFactor = json.Double("rescale_factor", d.RescaleFactor),
            DoNormalize = json.Bool("do_normalize", d.DoNormalize),
            ImageMean = ReadTriple(root, "image_mean", source) ?? d.ImageMean,
            ImageStd = ReadTriple(root, "image_std", source) ?? d.ImageStd,
        };

        if (root.TryGetProperty("size", out var size) && size.ValueKind != JsonValueKind.Null)
        {
            if (size.ValueKind == JsonValueKind.Number)
                // transformers turns a bare int into {"shortest_edge": n} for CLIP (default_to_square=False).
                config = config with { ShortestEdge = Positive(size, source, "size") };
            else if (size.ValueKind == JsonValueKind.Object && size.TryGetProperty("shortest_edge", out var edge))
                config = config with { ShortestEdge = Positive(edge, source, "size.shortest_edge") };
            else if (size.ValueKind == JsonValueKind.Object && size.TryGetProperty("height", out var h) && size.TryGetProperty("width", out var w))
                config = config with
                {
                    ShortestEdge = null,
                    ResizeHeight = Positive(h, source, "size.height"),
                    ResizeWidth = Positive(w, source, "size.width"),
                };
            else
                throw new FormatException($"{source}: field \"size\" must be an integer, {{\"shortest_edge\": n}} or {{\"height\": h, \"width\": w}}, found {size.GetRawText()}.");
        }

        if (root.TryGetProperty("crop_size", out var crop) && crop.ValueKind != JsonValueKind.Null)
        {
            if (crop.ValueKind == JsonValueKind.Number)
            {
                var n = Positive(crop, source, "crop_size");
                config = config with { CropHeight = n, CropWidth = n };
            }
            else if (crop.ValueKind == JsonValueKind.Object && crop.TryGetProperty("height", out var h) && crop.TryGetProperty("width", out var w))
                config = config with { CropHeight = Positive(h, source, "crop_size.height"), CropWidth = Positive(w, source, "crop_size.width") };
            else
                throw new FormatException($"{source}: field \"crop_size\" must be an integer or {{\"height\": h, \"width\": w}}, found {crop.GetRawText()}.");
        }

        json.Require(config.ImageStd.All(s => s > 0), "image_std", "must be positive");
        json.Require(config.RescaleFactor > 0, "rescale_factor", "must be positive");
        return config;
    }

    /// <summary>preprocessor_config.json in the current transformers layout.</summary>
    public JsonObject ToJson()
    {
        var size = ShortestEdge is { } edge
            ? new JsonObject { ["shortest_edge"] = edge }
            : new JsonObject { ["height"] = ResizeHeight, ["width"] = ResizeWidth };
        return new JsonObject
        {
            ["crop_size"] = new JsonObject { ["height"] = CropHeight, ["width"] = CropWidth },
            ["do_center_crop"] = DoCenterCrop,
            ["do_convert_rgb"] = true,
            ["do_normalize"] = DoNormalize,
            ["do_rescale"] = DoRescale,
            ["do_resize"] = DoResize,
            ["image_mean"] = new JsonArray(ImageMean.Select(v => (JsonNode?)v).ToArray()),
            ["image_processor_type"] = "CLIPImageProcessor",
            ["image_std"] = new JsonArray(ImageStd.Select(v => (JsonNode?)v).ToArray()),
            ["resample"] = (int)Resample,
            ["rescale_factor"] = RescaleFactor,
            ["size"] = size,
        };
    }

    static PilResampleFilter ReadResample(ConfigJson json, string source)
    {
        var code = json.Int("resample", (int)PilResampleFilter.Bicubic);
        if (!Enum.IsDefined(typeof(PilResampleFilter), code))
            throw new FormatException($"{source}: field \"resample\" is {code}; supported PIL filters are " +
                                      $"{string.Join(", ", Enum.GetValues<PilResampleFilter>().Select(f => $"{(int)f} ({f})"))} (0, nearest, is not).");
        return (PilResampleFilter)code;
    }

    static int Positive(JsonElement value, string source, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n > 0
            ? n
            : throw new FormatException($"{source}: field \"{field}\" must be a positive integer, found {value.GetRawText()}.");

    static IReadOnlyList<double>? ReadTriple(JsonElement root, string field, string source)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number) return [value.GetDouble(), value.GetDouble(), value.GetDouble()];
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 3
            && value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number))
            return value.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        throw new FormatException($"{source}: field \"{field}\" must be a number or a list of 3 numbers (RGB), found {value.GetRawText()}.");
    }
}
