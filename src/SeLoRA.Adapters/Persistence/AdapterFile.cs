using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Persistence;

/// <summary>
/// Saves and loads LoRA and SeLoRA adapters as safetensors, with PEFT's tensor names (<c>&lt;prefix&gt;&lt;module&gt;.lora_A.weight</c>
/// [r, in], <c>&lt;prefix&gt;&lt;module&gt;.lora_B.weight</c> [out, r]; prefix per <see cref="AdapterKeyConvention"/>).
/// </summary>
/// <remarks>
/// <para>The tensors are exactly what PEFT or diffusers load; everything else is in "__metadata__": "format": "pt";
/// "selora_adapter": JSON with, per component, the method ("selora" or "lora") and its configuration, the full
/// per-layer rank_pattern and alpha_pattern (alpha = scaling * rank, so PEFT's alpha / r gives back SeLoRA's fixed
/// scaling), and each SeLoRA layer's growth state (layer index, draw count, and the trial row as base64 of its
/// little-endian float32 bytes, so it comes back bit-exactly); with the diffusers convention also
/// "lora_adapter_metadata" (per-component LoraConfig fields prefixed "unet.", "text_encoder.", as diffusers writes).</para>
/// <para>Loading checks the whole file against the model before changing anything: every adapter's two keys present, no
/// other keys, shapes [r, in] and [out, r] with the model's in and out, a rank the layer can take (equal for LoRA; at
/// least the present rank for SeLoRA, which grows to it), and (with selora metadata) the same method, scaling and, to
/// restore growth, seed and layer indices. SeLoRA layers grow with <see cref="SeLoraLinear.Expand"/>, which replaces their
/// parameters (the old ones are disposed): create the optimizer after loading.</para>
/// </remarks>
public static class AdapterFile
{
    public const string PeftPrefix = "base_model.model.";
    public const string MetadataKey = "selora_adapter";
    public const string DiffusersMetadataKey = "lora_adapter_metadata";
    public const string PeftWeightsFileName = "adapter_model.safetensors";
    public const string PeftConfigFileName = "adapter_config.json";
    public const string DiffusersWeightsFileName = "pytorch_lora_weights.safetensors";
    public const int FormatVersion = 1;
    public const string SeLoraMethod = "selora";
    public const string LoraMethod = "lora";

    const string ASuffix = ".lora_A.weight";
    const string BSuffix = ".lora_B.weight";

    static readonly JsonSerializerOptions ConfigJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Saves one model's adapters under PEFT's names.</summary>
    public static void Save(string path, nn.Module model) => Save(path, [new AdapterComponent("model", model)]);

    /// <summary>Saves the adapters of the components in one file (the PEFT convention takes one component per file).</summary>
    public static void Save(string path, IReadOnlyList<AdapterComponent> components, AdapterKeyConvention convention = AdapterKeyConvention.Peft)
    {
        ArgumentNullException.ThrowIfNull(path);
        TorchRuntime.EnsureLoaded();
        var described = Describe(components, convention);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var componentsJson = new JsonArray();
        var diffusers = new JsonObject();
        foreach (var c in described)
        {
            foreach (var (name, layer) in c.Layers)
            {
                tensors.Add(KeyValuePair.Create(c.Prefix + name + ASuffix, (Tensor)layer.A));
                tensors.Add(KeyValuePair.Create(c.Prefix + name + BSuffix, (Tensor)layer.B));
            }
            componentsJson.Add(ComponentJson(c));
            foreach (var (k, v) in c.Peft.ToJson(adapterConfigFile: false)) diffusers[$"{c.Component.Name}.{k}"] = v?.DeepClone();
        }
        var root = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["convention"] = convention == AdapterKeyConvention.Peft ? "peft" : "diffusers",
            ["components"] = componentsJson,
        };
        var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata) { [MetadataKey] = root.ToJsonString() };
        if (convention == AdapterKeyConvention.Diffusers) metadata[DiffusersMetadataKey] = diffusers.ToJsonString();
        SafetensorsFile.Save(path, tensors, metadata);
    }

    /// <summary>
    /// Saves into a folder as the tools that read it expect: PEFT: adapter_model.safetensors and adapter_config.json (in the
    /// folder for one component, in &lt;folder&gt;/&lt;component&gt;/ for several); diffusers: pytorch_lora_weights.safetensors.
    /// </summary>
    public static void SaveFolder(string directory, IReadOnlyList<AdapterComponent> components, AdapterKeyConvention convention = AdapterKeyConvention.Peft)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (convention == AdapterKeyConvention.Diffusers)
        {
            Save(Path.Combine(directory, DiffusersWeightsFileName), components, convention);
            return;
        }
        foreach (var c in components)
        {
            var folder = components.Count == 1 ? directory : Path.Combine(directory, c.Name);
            Save(Path.Combine(folder, PeftWeightsFileName), [c], convention);
            PeftConfigOf(c).Write(Path.Combine(folder, PeftConfigFileName));
        }
    }

    /// <summary>Loads what <see cref="SaveFolder"/> wrote (the layout is found from the files present).</summary>
    public static IReadOnlyList<LoadedAdapter> LoadFolder(string directory, IReadOnlyList<AdapterComponent> components, AdapterLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        var diffusersFile = Path.Combine(directory, DiffusersWeightsFileName);
        if (File.Exists(diffusersFile)) return Load(diffusersFile, components, options);
        if (components.Count == 1 && File.Exists(Path.Combine(directory, PeftWeightsFileName)))
            return Load(Path.Combine(directory, PeftWeightsFileName), components, options);
        var missing = components.Select(c => Path.Combine(directory, c.Name, PeftWeightsFileName)).Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
            throw new WeightFileException($"{directory}: no {DiffusersWeightsFileName}, and no PEFT adapter file at {string.Join(", ", missing)}");
        // Check every file against its component before loading any, so a bad second file leaves the first model untouched.
        var plans = components.Select(c => Plan(Path.Combine(directory, c.Name, PeftWeightsFileName), [c], options ?? new AdapterLoadOptions())).ToList();
        return plans.SelectMany(Apply).ToList();
    }

    /// <summary>The PEFT config (adapter_config.json contents) of a component's adapters as they are now.</summary>
    public static PeftLoraConfig PeftConfigOf(AdapterComponent component) => Describe([component], AdapterKeyConvention.Peft)[0].Peft;

    /// <summary>Loads adapters saved by <see cref="Save(string, IReadOnlyList{AdapterComponent}, AdapterKeyConvention)"/> (or PEFT/diffusers files with the same names).</summary>
    /// <exception cref="WeightFileException">The file is missing or not a valid safetensors file.</exception>
    /// <exception cref="AdapterFileException">The file does not fit the model; nothing was changed.</exception>
    public static IReadOnlyList<LoadedAdapter> Load(string path, IReadOnlyList<AdapterComponent> components, AdapterLoadOptions? options = null)
        => Apply(Plan(path, components, options ?? new AdapterLoadOptions()));

    // ---- saving ----

    sealed record Described(AdapterComponent Component, string Prefix, string Method, JsonNode Config,
        IReadOnlyList<(string Name, LoraLinear Layer)> Layers, PeftLoraConfig Peft);

    static List<Described> Describe(IReadOnlyList<AdapterComponent> components, AdapterKeyConvention convention)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0) throw new ArgumentException("No components to save.", nameof(components));
        if (convention == AdapterKeyConvention.Peft && components.Count > 1)
            throw new ArgumentException("The PEFT convention holds one model per file; use SaveFolder, or the diffusers convention, for several components.", nameof(components));
        var duplicate = components.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Component name '{duplicate.Key}' is used twice.", nameof(components));
        var result = new List<Described>();
        foreach (var c in components)
        {
            var layers = AdaptersOf(c);
            if (layers.Count == 0) throw new ArgumentException($"Component '{c.Name}' has no adapters to save.", nameof(components));
            var selora = layers.Where(l => l.Layer is SeLoraLinear).ToList();
            if (selora.Count != 0 && selora.Count != layers.Count)
                throw new NotSupportedException($"Component '{c.Name}' mixes SeLoRA and plain LoRA layers; save them separately.");
            var method = selora.Count != 0 ? SeLoraMethod : LoraMethod;
            var dropout = selora.Count != 0 ? ((SeLoraLinear)selora[0].Layer).Config.Dropout : 0;
            var peft = PeftLoraConfig.FromLayers(layers.Select(l => (l.Name, l.Layer.Rank, l.Layer.Scaling)), dropout);
            JsonNode config;
            if (selora.Count != 0)
            {
                var first = ((SeLoraLinear)selora[0].Layer).Config;
                var other = selora.FirstOrDefault(l => ((SeLoraLinear)l.Layer).Config != first);
                if (other.Layer is not null)
                    throw new NotSupportedException($"Component '{c.Name}': SeLoRA layers '{selora[0].Name}' and '{other.Name}' have different configs; one config per component is saved.");
                config = JsonSerializer.SerializeToNode(first, ConfigJson)!;
            }
            else
            {
                config = peft.ToJson(adapterConfigFile: false);
            }
            result.Add(new Described(c, c.KeyPrefix(convention), method, config, layers, peft));
        }
        return result;
    }

    static JsonObject ComponentJson(Described c)
    {
        var ranks = new JsonObject();
        var alphas = new JsonObject();
        var growth = new JsonObject();
        foreach (var (name, layer) in c.Layers)
        {
            ranks[name] = layer.Rank;
            alphas[name] = PeftLoraConfig.AlphaFor(layer.Scaling, layer.Rank);
            if (layer is SeLoraLinear s)
            {
                growth[name] = new JsonObject
                {
                    ["layer_index"] = s.LayerIndex,
                    ["draw_count"] = s.DrawCount,
                    ["trial_row"] = EncodeRow(s.TrialRow),
                };
            }
        }
        var json = new JsonObject
        {
            ["name"] = c.Component.Name,
            ["key_prefix"] = c.Prefix,
            ["method"] = c.Method,
            ["config"] = c.Config,
            ["rank_pattern"] = ranks,
            ["alpha_pattern"] = alphas,
        };
        if (c.Method == SeLoraMethod) json["growth"] = growth;
        return json;
    }

    /// <summary>The component's adapters with their module paths inside its root, in named_modules() order.</summary>
    static List<(string Name, LoraLinear Layer)> AdaptersOf(AdapterComponent c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var result = new List<(string, LoraLinear)>();
        foreach (var (name, module) in c.Root.named_modules())
        {
            if (module is not IAdapter adapter) continue;
            if (module is not LoraLinear lora)
                throw new NotSupportedException($"Component '{c.Name}': '{name}' is a {module.GetType().Name}; adapter files hold LoRA and SeLoRA layers only.");
            if (adapter.Merged)
                throw new InvalidOperationException($"Component '{c.Name}': adapter '{name}' is merged into its base weight; unmerge it first.");
            result.Add((name, lora));
        }
        return result;
    }

    static string EncodeRow(Tensor row)
    {
        using var scope = NewDisposeScope();
        var cpu = row.detach().to(ScalarType.Float32, CPU).contiguous().clone();
        return Convert.ToBase64String(cpu.bytes);
    }

    // ---- loading ----

    sealed record LayerPlan(string Component, string Name, LoraLinear Layer, string KeyA, string KeyB, int SavedRank, long DrawCount, string? TrialRow);

    sealed record LoadPlan(string Path, IReadOnlyList<LayerPlan> Layers);

    static LoadPlan Plan(string path, IReadOnlyList<AdapterComponent> components, AdapterLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0) throw new ArgumentException("No components to load into.", nameof(components));
        TorchRuntime.EnsureLoaded();
        var header = SafetensorsFile.ReadHeader(path);
        var meta = ReadMetadata(header);
        var convention = meta?.Convention ?? (header.Entries.Count > 0 && header.Entries.All(e => e.Name.StartsWith(PeftPrefix, StringComparison.Ordinal))
            ? AdapterKeyConvention.Peft : AdapterKeyConvention.Diffusers);
        if (convention == AdapterKeyConvention.Peft && components.Count > 1)
            throw new ArgumentException($"{path} holds one model under PEFT's names; load it into one component.", nameof(components));

        var problems = new List<string>();
        var entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var plans = new List<LayerPlan>();
        foreach (var c in components)
        {
            var prefix = c.KeyPrefix(convention);
            var layers = AdaptersOf(c);
            var cm = meta?.ComponentFor(c.Name, components.Count == 1, path);
            foreach (var (name, layer) in layers)
            {
                var keyA = prefix + name + ASuffix;
                var keyB = prefix + name + BSuffix;
                claimed.Add(keyA);
                claimed.Add(keyB);
                var seLora = layer as SeLoraLinear;
                var rankRule = seLora is null ? $"rank {layer.Rank}"
                    : seLora.Config.MaxRank is { } max ? $"rank {layer.Rank}..{max}" : $"rank >= {layer.Rank}";
                var expectA = $"[r, {layer.InFeatures}] with {rankRule}";
                var expectB = $"[{layer.OutFeatures}, r] with {rankRule}";
                entries.TryGetValue(keyA, out var a);
                entries.TryGetValue(keyB, out var b);
                if (a is null) problems.Add($"missing tensor '{keyA}': the model's adapter '{name}' expects {expectA}");
                if (b is null) problems.Add($"missing tensor '{keyB}': the model's adapter '{name}' expects {expectB}");
                if (a is null || b is null) continue;
                var ok = true;
                if (a.Shape.Length != 2 || a.Shape[1] != layer.InFeatures || !RankFits(layer, a.Shape[0]))
                {
                    problems.Add($"tensor '{keyA}' has shape {SafetensorsFile.FormatShape(a.Shape)}; the model's adapter '{name}' expects {expectA}");
                    ok = false;
                }
                if (b.Shape.Length != 2 || b.Shape[0] != layer.OutFeatures || !RankFits(layer, b.Shape[1]))
                {
                    problems.Add($"tensor '{keyB}' has shape {SafetensorsFile.FormatShape(b.Shape)}; the model's adapter '{name}' expects {expectB}");
                    ok = false;
                }
                if (!ok) continue;
                if (a.Shape[0] != b.Shape[1])
                {
                    problems.Add($"tensors '{keyA}' {SafetensorsFile.FormatShape(a.Shape)} and '{keyB}' {SafetensorsFile.FormatShape(b.Shape)} disagree on the rank");
                    continue;
                }
                foreach (var e in new[] { a, b })
                    if (!SafetensorsDType.IsFloating(e.DType)) problems.Add($"tensor '{e.Name}' is {e.DTypeName}, not a floating type");
                var savedRank = (int)a.Shape[0];
                long drawCount = 0;
                string? trialRow = null;
                if (cm is not null)
                    (drawCount, trialRow) = CheckAgainstMetadata(cm, name, layer, savedRank, options, problems);
                plans.Add(new LayerPlan(c.Name, name, layer, keyA, keyB, savedRank, drawCount, trialRow));
            }
        }
        foreach (var e in header.Entries)
        {
            if (claimed.Contains(e.Name)) continue;
            problems.Add($"unexpected tensor '{e.Name}' {SafetensorsFile.FormatShape(e.Shape)}: no adapter of the model has that name " +
                         $"(components: {string.Join(", ", components.Select(c => $"'{c.Name}' with keys '{c.KeyPrefix(convention)}...'"))})");
        }
        if (problems.Count > 0)
        {
            const int shown = 20;
            var more = problems.Count > shown ? $"\n  ... and {problems.Count - shown} more" : "";
            throw new AdapterFileException($"{path} does not fit the model ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n  " +
                                           string.Join("\n  ", problems.Take(shown)) + more);
        }
        return new LoadPlan(path, plans);
    }

    static bool RankFits(LoraLinear layer, long rank) => layer is SeLoraLinear s
        ? rank >= s.Rank && (s.Config.MaxRank is not { } max || rank <= max)
        : rank == layer.Rank;

    static (long DrawCount, string? TrialRow) CheckAgainstMetadata(ComponentMetadata cm, string name, LoraLinear layer, int savedRank,
        AdapterLoadOptions options, List<string> problems)
    {
        var seLora = layer as SeLoraLinear;
        var expectedMethod = seLora is null ? LoraMethod : SeLoraMethod;
        if (cm.Method != expectedMethod)
        {
            problems.Add($"adapter '{name}': the file holds {cm.Method} adapters, the model has {expectedMethod} ({layer.GetType().Name})");
            return (0, null);
        }
        if (cm.Ranks.TryGetValue(name, out var metaRank) && metaRank != savedRank)
            problems.Add($"adapter '{name}': the metadata's rank_pattern says rank {metaRank}, the tensors have rank {savedRank}");
        if (options.CheckScaling && cm.Alphas.TryGetValue(name, out var alpha))
        {
            var fileScaling = alpha / savedRank;
            var modelScaling = seLora is not null ? seLora.Config.ScalingFor(savedRank) : layer.Scaling;
            if (!Close(fileScaling, modelScaling))
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"adapter '{name}': the file's scaling {alpha}/{savedRank} = {fileScaling} differs from the model's {modelScaling} at rank {savedRank} (other alpha, initial rank or scaling rule)"));
        }
        if (seLora is null || !options.RestoreGrowthState || !cm.Growth.TryGetValue(name, out var g)) return (0, null);
        if (cm.Seed is { } seed && seed != seLora.Config.Seed)
            problems.Add($"adapter '{name}': the file was trained with seed {seed}, the model's SeLoRA config has seed {seLora.Config.Seed}; later draws would differ (load without restoring growth state to accept)");
        if (g.LayerIndex != seLora.LayerIndex)
            problems.Add($"adapter '{name}': the file's layer index is {g.LayerIndex}, the model's is {seLora.LayerIndex}; later draws would differ (inject in the same order, or load without restoring growth state)");
        if (g.DrawCount < 1) problems.Add($"adapter '{name}': growth state draw count {g.DrawCount} is below 1");
        var expectedLength = seLora.InFeatures * sizeof(float);
        if (Base64Length(g.TrialRow) is var length && length != expectedLength)
            problems.Add($"adapter '{name}': growth state trial row has {length} bytes; [1, {seLora.InFeatures}] float32 needs {expectedLength}");
        return (g.DrawCount, g.TrialRow);
    }

    static long Base64Length(string text)
    {
        try
        {
            return Convert.FromBase64String(text).LongLength;
        }
        catch (FormatException)
        {
            return -1;
        }
    }

    static bool Close(double a, double b) => a == b || Math.Abs(a - b) <= 1e-12 * Math.Max(Math.Abs(a), Math.Abs(b));

    static List<LoadedAdapter> Apply(LoadPlan plan)
    {
        var wanted = new HashSet<string>(plan.Layers.SelectMany(l => new[] { l.KeyA, l.KeyB }), StringComparer.Ordinal);
        var tensors = SafetensorsFile.Load(plan.Path, wanted.Contains);
        try
        {
            var loaded = new List<LoadedAdapter>(plan.Layers.Count);
            foreach (var l in plan.Layers)
            {
                var previous = l.Layer.Rank;
                if (l.Layer is SeLoraLinear s)
                {
                    while (s.Rank < l.SavedRank)
                    {
                        var expansion = s.Expand();
                        expansion.OldA.Dispose();
                        expansion.OldB.Dispose();
                    }
                }
                using (no_grad())
                {
                    l.Layer.A.copy_(tensors[l.KeyA]);
                    l.Layer.B.copy_(tensors[l.KeyB]);
                }
                var restored = false;
                if (l.Layer is SeLoraLinear seLora && l.TrialRow is not null)
                {
                    using var row = DecodeRow(l.TrialRow, seLora.InFeatures);
                    seLora.RestoreGrowthState(l.DrawCount, row);
                    restored = true;
                }
                loaded.Add(new LoadedAdapter(l.Component, l.Name, previous, l.Layer.Rank, restored));
            }
            return loaded;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    static Tensor DecodeRow(string base64, long inFeatures)
    {
        var bytes = Convert.FromBase64String(base64);
        var row = empty(new long[] { 1, inFeatures }, dtype: ScalarType.Float32);
        bytes.CopyTo(row.bytes);
        return row;
    }

    // ---- metadata ----

    sealed record GrowthState(int LayerIndex, long DrawCount, string TrialRow);

    sealed record ComponentMetadata(string Name, string Method, ulong? Seed, IReadOnlyDictionary<string, int> Ranks,
        IReadOnlyDictionary<string, double> Alphas, IReadOnlyDictionary<string, GrowthState> Growth);

    sealed record FileMetadata(AdapterKeyConvention Convention, IReadOnlyList<ComponentMetadata> Components)
    {
        public ComponentMetadata ComponentFor(string name, bool single, string path)
        {
            var match = Components.FirstOrDefault(c => c.Name == name);
            if (match is not null) return match;
            // One model saved under PEFT's names may be loaded under any component name.
            if (single && Components.Count == 1 && Convention == AdapterKeyConvention.Peft) return Components[0];
            throw new AdapterFileException($"{path} has no adapters for component '{name}' (it has: {string.Join(", ", Components.Select(c => c.Name))})");
        }
    }

    static FileMetadata? ReadMetadata(SafetensorsHeader header)
    {
        if (!header.Metadata.TryGetValue(MetadataKey, out var text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            var version = root.GetProperty("format_version").GetInt32();
            if (version != FormatVersion)
                throw new AdapterFileException($"{header.Path}: adapter format version {version} is not supported (this build reads {FormatVersion})");
            var convention = root.GetProperty("convention").GetString() switch
            {
                "peft" => AdapterKeyConvention.Peft,
                "diffusers" => AdapterKeyConvention.Diffusers,
                var other => throw new FormatException($"unknown convention '{other}'"),
            };
            var components = new List<ComponentMetadata>();
            foreach (var c in root.GetProperty("components").EnumerateArray())
            {
                var config = c.GetProperty("config");
                ulong? seed = config.ValueKind == JsonValueKind.Object && config.TryGetProperty("seed", out var s) ? s.GetUInt64() : null;
                var growth = new Dictionary<string, GrowthState>(StringComparer.Ordinal);
                if (c.TryGetProperty("growth", out var g))
                    foreach (var p in g.EnumerateObject())
                        growth[p.Name] = new GrowthState(p.Value.GetProperty("layer_index").GetInt32(), p.Value.GetProperty("draw_count").GetInt64(),
                            p.Value.GetProperty("trial_row").GetString() ?? "");
                components.Add(new ComponentMetadata(
                    c.GetProperty("name").GetString()!,
                    c.GetProperty("method").GetString()!,
                    seed,
                    c.GetProperty("rank_pattern").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal),
                    c.GetProperty("alpha_pattern").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal),
                    growth));
            }
            return new FileMetadata(convention, components);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new AdapterFileException($"{header.Path}: the \"{MetadataKey}\" metadata is malformed: {e.Message}", e);
        }
    }
}
