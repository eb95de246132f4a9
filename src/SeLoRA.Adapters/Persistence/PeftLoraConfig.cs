using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SeLoRA.Adapters.Lora;

namespace SeLoRA.Adapters.Persistence;

/// <summary>
/// The LoRA fields of PEFT's adapter_config.json (and of diffusers' "lora_adapter_metadata"): default rank and alpha,
/// the adapted modules, and per-module rank and alpha overrides.
/// </summary>
/// <remarks>
/// PEFT gives module <c>m</c> the rank <c>rank_pattern[k]</c> and alpha <c>alpha_pattern[k']</c> of the first pattern
/// keys k, k' that match <c>^(.*\.)?(key)$</c> (its get_pattern_key; r and lora_alpha when none does), and scaling
/// alpha / r (alpha / sqrt(r) with use_rslora). A grown SeLoRA layer keeps its scaling s fixed while r grows, so each
/// layer's alpha is written as s * r: PEFT then computes s again. Keys are full module names (not regexes); PEFT before
/// 0.14 matched <c>.*\.key$</c>, which a top-level full name cannot satisfy, so use a recent PEFT with these files.
/// </remarks>
public sealed record PeftLoraConfig
{
    public int R { get; init; } = 8;

    public double LoraAlpha { get; init; } = 8;

    public IReadOnlyList<string> TargetModules { get; init; } = [];

    /// <summary>Module name to rank, in file order (the order PEFT tries them in).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> RankPattern { get; init; } = [];

    /// <summary>Module name to alpha, in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> AlphaPattern { get; init; } = [];

    public double LoraDropout { get; init; }

    public bool UseRsLora { get; init; }

    /// <summary>
    /// The config under which PEFT rebuilds these adapters with their present ranks and scalings: r and lora_alpha are the
    /// most common rank and alpha (ties to the smaller, as diffusers picks them), and the patterns list every layer that
    /// differs from them.
    /// </summary>
    public static PeftLoraConfig FromAdapters(IEnumerable<LoraLinear> adapters, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        return FromLayers(adapters.Select(a => (a.Name, a.Rank, a.Scaling)), dropout);
    }

    /// <summary>As <see cref="FromAdapters"/>, from (module name, rank, scaling) per layer.</summary>
    public static PeftLoraConfig FromLayers(IEnumerable<(string Name, int Rank, double Scaling)> adapters, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var layers = adapters.Select(a => (a.Name, a.Rank, Alpha: AlphaFor(a.Scaling, a.Rank))).ToList();
        if (layers.Count == 0) throw new ArgumentException("There are no adapters to describe.", nameof(adapters));
        var r = layers.GroupBy(l => l.Rank).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var alpha = layers.GroupBy(l => l.Alpha).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        return new PeftLoraConfig
        {
            R = r,
            LoraAlpha = alpha,
            TargetModules = layers.Select(l => l.Name).ToList(),
            RankPattern = layers.Where(l => l.Rank != r).Select(l => KeyValuePair.Create(l.Name, l.Rank)).ToList(),
            AlphaPattern = layers.Where(l => l.Alpha != alpha).Select(l => KeyValuePair.Create(l.Name, l.Alpha)).ToList(),
            LoraDropout = dropout,
        };
    }

    /// <summary>
    /// The alpha to store for a layer of rank <paramref name="rank"/> and scaling <paramref name="scaling"/>: s * r, or the
    /// double within a few ulps of it for which alpha / r (PEFT's computation) comes closest to s; exact whenever such an
    /// alpha exists (always for s * r exact, e.g. SeLoRA's default s = 8), otherwise one ulp of s away.
    /// </summary>
    public static double AlphaFor(double scaling, int rank)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "rank must be at least 1");
        var start = scaling * rank;
        if (start / rank == scaling || !double.IsFinite(start)) return start;
        var best = start;
        var bestError = Math.Abs(start / rank - scaling);
        foreach (var step in new Func<double, double>[] { Math.BitIncrement, Math.BitDecrement })
        {
            var alpha = start;
            for (var i = 0; i < 8; i++)
            {
                alpha = step(alpha);
                var error = Math.Abs(alpha / rank - scaling);
                if (error == 0) return alpha;
                if (error < bestError) (best, bestError) = (alpha, error);
            }
        }
        return best;
    }

    /// <summary>The rank and alpha PEFT gives module <paramref name="moduleName"/> (full dotted name inside the model).</summary>
    public (int Rank, double Alpha) Resolve(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        var rank = Lookup(RankPattern, moduleName, R);
        var alpha = Lookup(AlphaPattern, moduleName, LoraAlpha);
        return (rank, alpha);
    }

    /// <summary>The scaling PEFT computes for a module: alpha / r, or alpha / sqrt(r) with use_rslora.</summary>
    public double ScalingFor(string moduleName)
    {
        var (rank, alpha) = Resolve(moduleName);
        return UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank;
    }

    /// <summary>
    /// The fields as JSON. <paramref name="adapterConfigFile"/>: PEFT's whole adapter_config.json (peft_type, task_type...);
    /// otherwise only LoraConfig arguments, as diffusers reads them from "lora_adapter_metadata".
    /// </summary>
    public JsonObject ToJson(bool adapterConfigFile = true)
    {
        var rankPattern = new JsonObject();
        foreach (var (k, v) in RankPattern) rankPattern[k] = v;
        var alphaPattern = new JsonObject();
        foreach (var (k, v) in AlphaPattern) alphaPattern[k] = v;
        var json = new JsonObject
        {
            ["alpha_pattern"] = alphaPattern,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["init_lora_weights"] = true,
            ["lora_alpha"] = LoraAlpha,
            ["lora_dropout"] = LoraDropout,
            ["r"] = R,
            ["rank_pattern"] = rankPattern,
            ["target_modules"] = new JsonArray(TargetModules.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["use_dora"] = false,
            ["use_rslora"] = UseRsLora,
        };
        if (adapterConfigFile)
        {
            json["base_model_name_or_path"] = null;
            json["inference_mode"] = true;
            json["layers_pattern"] = null;
            json["layers_to_transform"] = null;
            json["modules_to_save"] = null;
            json["peft_type"] = "LORA";
            json["revision"] = null;
            json["task_type"] = null;
        }
        return json;
    }

    /// <summary>Writes adapter_config.json (indented, as PEFT writes it).</summary>
    public void Write(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public static PeftLoraConfig FromFile(string path)
    {
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        try
        {
            return FromJson(doc.RootElement);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Reads PEFT's field names, with PEFT's defaults (r 8, lora_alpha 8) for absent ones; target_modules may be a list or one regex string.</summary>
    public static PeftLoraConfig FromJson(JsonElement root)
    {
        var config = new PeftLoraConfig();
        if (root.TryGetProperty("r", out var r)) config = config with { R = r.GetInt32() };
        if (root.TryGetProperty("lora_alpha", out var a)) config = config with { LoraAlpha = a.GetDouble() };
        if (root.TryGetProperty("lora_dropout", out var d) && d.ValueKind == JsonValueKind.Number) config = config with { LoraDropout = d.GetDouble() };
        if (root.TryGetProperty("use_rslora", out var rs) && rs.ValueKind is JsonValueKind.True or JsonValueKind.False) config = config with { UseRsLora = rs.GetBoolean() };
        if (root.TryGetProperty("target_modules", out var t))
        {
            config = config with
            {
                TargetModules = t.ValueKind switch
                {
                    JsonValueKind.Array => t.EnumerateArray().Select(e => e.GetString() ?? throw new FormatException("target_modules: null entry")).ToList(),
                    JsonValueKind.String => [t.GetString()!],
                    JsonValueKind.Null => [],
                    _ => throw new FormatException($"target_modules: expected a list or a string, got {t.ValueKind}"),
                },
            };
        }
        if (root.TryGetProperty("rank_pattern", out var rp) && rp.ValueKind == JsonValueKind.Object)
            config = config with { RankPattern = rp.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetInt32())).ToList() };
        if (root.TryGetProperty("alpha_pattern", out var ap) && ap.ValueKind == JsonValueKind.Object)
            config = config with { AlphaPattern = ap.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetDouble())).ToList() };
        return config;
    }

    static T Lookup<T>(IReadOnlyList<KeyValuePair<string, T>> pattern, string name, T fallback)
    {
        foreach (var (key, value) in pattern)
            if (Regex.IsMatch(name, "^(.*\\.)?(" + key + ")$", RegexOptions.CultureInvariant)) return value;
        return fallback;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"r={R}, lora_alpha={LoraAlpha}, {TargetModules.Count} modules, {RankPattern.Count} rank overrides, {AlphaPattern.Count} alpha overrides");
}
