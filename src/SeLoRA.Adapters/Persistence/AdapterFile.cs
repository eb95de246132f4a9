using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Persistence;

/// <summary>
/// Saves and loads LoRA, SeLoRA, DyLoRA and AdaLoRA adapters as safetensors, with PEFT's tensor names
/// (<c>&lt;prefix&gt;&lt;module&gt;.lora_A.weight</c> [r, in], <c>&lt;prefix&gt;&lt;module&gt;.lora_B.weight</c> [out, r];
/// AdaLoRA: <c>&lt;prefix&gt;&lt;module&gt;.lora_A</c> [r, in], <c>.lora_B</c> [out, r], <c>.lora_E</c> [r, 1]; prefix per
/// <see cref="AdapterKeyConvention"/>).
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
/// <para>DyLoRA ("dylora"): A [r_max, in] and B [out, r_max] under LoRA's keys (PEFT loads them as LoRA at r_max); the
/// config (r = r_max, min_r, lora_alpha, lora_dropout, frozen, per_layer_ranks, seed: <see cref="DyLoraConfig.FromJson(System.Text.Json.JsonElement)"/>
/// reads it) and each layer's "inference_ranks" are in the metadata; loading needs the model's r_max equal to the file's
/// and sets each layer's InferenceRank.</para>
/// <para>AdaLoRA ("adalora"): PEFT's saved keys. PEFT keeps A, B, E as bare parameters in ParameterDicts, and
/// get_peft_model_state_dict strips the adapter name, so they are <c>base_model.model.&lt;module&gt;.lora_A</c> (no
/// ".weight"); ranknum is not saved by PEFT (its name has no "lora_"). Each tensor holds the triplets the module holds
/// (<see cref="AdaLoraLinear.AllocatedRank"/>: pruned modules fewer, possibly none: [0, in], [out, 0], [0, 1]; masked but
/// unpruned triplets stay, with E as it is). The metadata has PEFT's AdaLoraConfig fields (+ seed), per layer the mask
/// over the held triplets as "rank_pattern", lora_alpha as "alpha_pattern", and "ranknum" where it differs from the held
/// triplets (pruned layers keep ranknum = init_r, so the output scale survives). Loading prunes each module to the saved
/// triplets (<see cref="AdaLoraLinear.ApplyMask"/> keeping the first ones, then <see cref="AdaLoraLinear.Prune"/>; old
/// parameters disposed), records the saved mask, then copies A, B, E: create the optimizer and RankAllocator after
/// loading. The PEFT folder's adapter_config.json (peft_type ADALORA) lists every held triplet as kept, so PEFT resizes
/// its modules to the saved tensors; a file from a module whose triplets are masked but not pruned loads in PEFT with
/// those triplets (same output, since the forward ignores the mask). diffusers has no AdaLoRA: with its convention the
/// component is left out of "lora_adapter_metadata".</para>
/// <para>A file of one method loaded into a model of another is refused with both methods named.</para>
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
    public const string DyLoraMethod = "dylora";
    public const string AdaLoraMethod = "adalora";

    const string ASuffix = ".lora_A.weight";
    const string BSuffix = ".lora_B.weight";

    // PEFT's AdaLoRA keeps A, B, E as bare parameters (ParameterDicts), so its saved keys have no ".weight".
    const string AdaASuffix = ".lora_A";
    const string AdaBSuffix = ".lora_B";
    const string AdaESuffix = ".lora_E";

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
                foreach (var (suffix, tensor) in TensorsOf(layer))
                    tensors.Add(KeyValuePair.Create(c.Prefix + name + suffix, tensor));
            componentsJson.Add(ComponentJson(c));
            // diffusers has no AdaLoRA config; such components are described by the selora_adapter metadata only.
            if (c.Peft is not null)
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
            var described = Describe([c], AdapterKeyConvention.Peft)[0];
            var configPath = Path.Combine(folder, PeftConfigFileName);
            if (described.Peft is { } peft) peft.Write(configPath);
            else File.WriteAllText(configPath, AdaLoraPeftConfig(described).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
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

    /// <summary>The PEFT LoRA config (adapter_config.json contents) of a component's adapters as they are now (DyLoRA: plain
    /// LoRA at r_max, which is how PEFT can load it).</summary>
    /// <exception cref="NotSupportedException">The component holds AdaLoRA adapters (their config is not a LoRA config).</exception>
    public static PeftLoraConfig PeftConfigOf(AdapterComponent component) => Describe([component], AdapterKeyConvention.Peft)[0].Peft
        ?? throw new NotSupportedException($"Component '{component.Name}' holds AdaLoRA adapters; their adapter_config.json (written by SaveFolder) is not a LoRA config.");

    /// <summary>Loads adapters saved by <see cref="Save(string, IReadOnlyList{AdapterComponent}, AdapterKeyConvention)"/> (or PEFT/diffusers files with the same names).</summary>
    /// <exception cref="WeightFileException">The file is missing or not a valid safetensors file.</exception>
    /// <exception cref="AdapterFileException">The file does not fit the model; nothing was changed.</exception>
    public static IReadOnlyList<LoadedAdapter> Load(string path, IReadOnlyList<AdapterComponent> components, AdapterLoadOptions? options = null)
        => Apply(Plan(path, components, options ?? new AdapterLoadOptions()));

    // ---- saving ----

    sealed record Described(AdapterComponent Component, string Prefix, string Method, JsonNode Config,
        IReadOnlyList<(string Name, IAdapter Layer)> Layers, PeftLoraConfig? Peft);

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
            var method = MethodOfComponent(c, layers);
            JsonNode config;
            PeftLoraConfig? peft;
            switch (method)
            {
                case SeLoraMethod:
                {
                    var first = SameConfig(c, layers, l => ((SeLoraLinear)l).Config);
                    peft = PeftLoraConfig.FromLayers(layers.Select(l => (l.Name, l.Layer.Rank, ((LoraLinear)l.Layer).Scaling)), first.Dropout);
                    config = JsonSerializer.SerializeToNode(first, ConfigJson)!;
                    break;
                }
                case DyLoraMethod:
                {
                    var first = SameConfig(c, layers, l => ((DyLoraLinear)l).Config);
                    peft = PeftLoraConfig.FromLayers(layers.Select(l => (l.Name, ((DyLoraLinear)l.Layer).MaxRank, ((DyLoraLinear)l.Layer).Scaling)), first.Dropout);
                    config = DyLoraConfigJson(first);
                    break;
                }
                case AdaLoraMethod:
                {
                    var first = SameConfig(c, layers, l => ((AdaLoraLinear)l).Config with { RankPattern = null });
                    peft = null;
                    config = AdaLoraConfigJson(first);
                    break;
                }
                default:
                    peft = PeftLoraConfig.FromLayers(layers.Select(l => (l.Name, l.Layer.Rank, ((LoraLinear)l.Layer).Scaling)));
                    config = peft.ToJson(adapterConfigFile: false);
                    break;
            }
            result.Add(new Described(c, c.KeyPrefix(convention), method, config, layers, peft));
        }
        return result;
    }

    static string MethodOfComponent(AdapterComponent c, IReadOnlyList<(string Name, IAdapter Layer)> layers)
    {
        var methods = layers.Select(l => MethodOf(l.Layer)).Distinct().ToList();
        if (methods.Count > 1)
            throw new NotSupportedException($"Component '{c.Name}' mixes {string.Join(" and ", methods)} layers; save them separately.");
        return methods[0];
    }

    static T SameConfig<T>(AdapterComponent c, IReadOnlyList<(string Name, IAdapter Layer)> layers, Func<IAdapter, T> configOf)
    {
        var first = configOf(layers[0].Layer);
        var other = layers.FirstOrDefault(l => !EqualityComparer<T>.Default.Equals(configOf(l.Layer), first));
        if (other.Layer is not null)
            throw new NotSupportedException($"Component '{c.Name}': layers '{layers[0].Name}' and '{other.Name}' have different configs; one config per component is saved.");
        return first;
    }

    /// <summary>The method name of an adapter, or null for a kind adapter files do not hold.</summary>
    static string? MethodOrNull(IAdapter adapter) => adapter switch
    {
        SeLoraLinear => SeLoraMethod,
        DyLoraLinear => DyLoraMethod,
        AdaLoraLinear => AdaLoraMethod,
        LoraLinear => LoraMethod,
        _ => null,
    };

    static string MethodOf(IAdapter adapter) => MethodOrNull(adapter)!;

    // DyLoraConfig.FromJson reads these names back (r is r_max, as PEFT's r; r_max repeats it for readers).
    static JsonObject DyLoraConfigJson(DyLoraConfig c) => new()
    {
        ["r"] = c.MaxRank,
        ["r_max"] = c.MaxRank,
        ["min_r"] = c.MinRank,
        ["lora_alpha"] = c.Alpha,
        ["lora_dropout"] = c.Dropout,
        ["frozen"] = c.FrozenLowerRanks,
        ["per_layer_ranks"] = c.PerLayerRanks,
        ["seed"] = c.Seed,
    };

    // PEFT's AdaLoraConfig names; AdaLoraConfig.FromJson reads them back.
    static JsonObject AdaLoraConfigJson(AdaLoraConfig c) => new()
    {
        ["init_r"] = c.InitR,
        ["target_r"] = c.TargetR,
        ["tinit"] = c.TInit,
        ["tfinal"] = c.TFinal,
        ["deltaT"] = c.DeltaT,
        ["beta1"] = c.Beta1,
        ["beta2"] = c.Beta2,
        ["orth_reg_weight"] = c.OrthRegWeight,
        ["total_step"] = c.TotalStep,
        ["lora_alpha"] = c.Alpha,
        ["lora_dropout"] = c.Dropout,
        ["seed"] = c.Seed,
    };

    /// <summary>The tensors of one adapter under their key suffixes, in file order.</summary>
    static IEnumerable<(string Suffix, Tensor Tensor)> TensorsOf(IAdapter layer) => layer switch
    {
        AdaLoraLinear a => [(AdaASuffix, a.A), (AdaBSuffix, a.B), (AdaESuffix, a.E)],
        LoraLinear l => [(ASuffix, l.A), (BSuffix, l.B)],
        _ => throw new NotSupportedException(layer.GetType().Name),
    };

    /// <summary>The rank the tensors have (rows of A): r_max for DyLoRA, the held triplets for AdaLoRA.</summary>
    static int TensorRank(IAdapter layer) => layer switch
    {
        DyLoraLinear d => d.MaxRank,
        AdaLoraLinear a => a.AllocatedRank,
        _ => layer.Rank,
    };

    static JsonObject ComponentJson(Described c)
    {
        var ranks = new JsonObject();
        var alphas = new JsonObject();
        var growth = new JsonObject();
        var inference = new JsonObject();
        var rankNums = new JsonObject();
        foreach (var (name, layer) in c.Layers)
        {
            switch (layer)
            {
                case AdaLoraLinear a:
                    ranks[name] = new JsonArray(a.RankMask.Select(k => (JsonNode)JsonValue.Create(k)).ToArray());
                    alphas[name] = a.Scaling;
                    if (a.RankNum != a.AllocatedRank) rankNums[name] = a.RankNum;
                    break;
                case LoraLinear l:
                    var r = TensorRank(l);
                    ranks[name] = r;
                    alphas[name] = PeftLoraConfig.AlphaFor(l.Scaling, r);
                    break;
            }
            if (layer is SeLoraLinear s)
            {
                growth[name] = new JsonObject
                {
                    ["layer_index"] = s.LayerIndex,
                    ["draw_count"] = s.DrawCount,
                    ["trial_row"] = EncodeRow(s.TrialRow),
                };
            }
            if (layer is DyLoraLinear d) inference[name] = d.InferenceRank;
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
        if (c.Method == DyLoraMethod) json["inference_ranks"] = inference;
        if (c.Method == AdaLoraMethod) json["ranknum"] = rankNums;
        return json;
    }

    /// <summary>
    /// PEFT's adapter_config.json for AdaLoRA adapters: the config fields, and a rank_pattern (keys
    /// <c>base_model.model.&lt;module&gt;.lora_E</c>, as PEFT writes them) that keeps every triplet the file holds, so PEFT
    /// resizes each module to the saved tensors (masked triplets stay, with the E the module has: the forward does not
    /// depend on the mask). The exact masks are in the weights file's metadata.
    /// </summary>
    static JsonObject AdaLoraPeftConfig(Described c)
    {
        var json = AdaLoraConfigJson(((AdaLoraLinear)c.Layers[0].Layer).Config);
        json.Remove("seed");
        var pattern = new JsonObject();
        foreach (var (name, layer) in c.Layers)
            pattern[PeftPrefix + name + AdaESuffix] = new JsonArray(Enumerable.Repeat(true, ((AdaLoraLinear)layer).AllocatedRank).Select(k => (JsonNode)JsonValue.Create(k)).ToArray());
        var result = new JsonObject
        {
            ["peft_type"] = "ADALORA",
            ["r"] = json["init_r"]!.GetValue<int>(),
            ["target_modules"] = new JsonArray(c.Layers.Select(l => (JsonNode)JsonValue.Create(l.Name)).ToArray()),
            ["bias"] = "none",
            ["init_lora_weights"] = true,
            ["inference_mode"] = false,
        };
        foreach (var (k, v) in json) result[k] = v?.DeepClone();
        result["rank_pattern"] = pattern;
        return result;
    }

    /// <summary>The component's adapters with their module paths inside its root, in named_modules() order.</summary>
    static List<(string Name, IAdapter Layer)> AdaptersOf(AdapterComponent c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var result = new List<(string, IAdapter)>();
        foreach (var (name, module) in c.Root.named_modules())
        {
            if (module is not IAdapter adapter) continue;
            if (MethodOrNull(adapter) is null)
                throw new NotSupportedException($"Component '{c.Name}': '{name}' is a {module.GetType().Name}; adapter files hold LoRA, SeLoRA, DyLoRA and AdaLoRA layers only.");
            if (adapter.Merged)
                throw new InvalidOperationException($"Component '{c.Name}': adapter '{name}' is merged into its base weight; unmerge it first.");
            result.Add((name, adapter));
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

    sealed record LayerPlan(string Component, string Name, IAdapter Layer, IReadOnlyList<string> Keys, int SavedRank,
        long DrawCount, string? TrialRow, int? InferenceRank, bool[]? Mask);

    sealed record LoadPlan(string Path, IReadOnlyList<LayerPlan> Layers);

    /// <summary>A tensor an adapter needs: its key and shape, with -1 where the rank goes.</summary>
    sealed record ExpectedTensor(string Key, long[] Dims);

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
            if (cm is not null && layers.Count > 0)
            {
                var modelMethods = layers.Select(l => MethodOf(l.Layer)).Distinct().ToList();
                if (modelMethods.Count != 1 || modelMethods[0] != cm.Method)
                {
                    // Other method: its keys and shapes mean other things, so only the method is reported.
                    problems.Add($"component '{c.Name}': the file holds {cm.Method} adapters, the model has {string.Join(" and ", modelMethods)} " +
                                 $"({string.Join(", ", layers.Select(l => l.Layer.GetType().Name).Distinct())})");
                    foreach (var e in header.Entries)
                        if (e.Name.StartsWith(prefix, StringComparison.Ordinal)) claimed.Add(e.Name);
                    continue;
                }
                if (cm.Method == DyLoraMethod && cm.DyLoraMaxRank is { } fileMax && layers[0].Layer is DyLoraLinear d0 && fileMax != d0.MaxRank)
                    problems.Add($"component '{c.Name}': the file's DyLoRA r_max is {fileMax}, the model's is {d0.MaxRank} (build the model with the file's r_max)");
            }
            foreach (var (name, layer) in layers)
            {
                var expected = ExpectedTensors(prefix + name, layer);
                foreach (var e in expected) claimed.Add(e.Key);
                var rule = RankRule(layer);
                var found = new List<SafetensorsEntry>();
                foreach (var e in expected)
                {
                    var expect = $"{FormatExpected(e.Dims)} with {rule}";
                    if (!entries.TryGetValue(e.Key, out var entry)) problems.Add($"missing tensor '{e.Key}': the model's adapter '{name}' expects {expect}");
                    else if (!Fits(entry, e.Dims, layer))
                        problems.Add($"tensor '{e.Key}' has shape {SafetensorsFile.FormatShape(entry.Shape)}; the model's adapter '{name}' expects {expect}");
                    else found.Add(entry);
                }
                if (found.Count != expected.Count) continue;
                var ranks = found.Select((f, i) => f.Shape[Array.IndexOf(expected[i].Dims, -1L)]).Distinct().ToList();
                if (ranks.Count != 1)
                {
                    problems.Add($"tensors {string.Join(" and ", found.Select(f => $"'{f.Name}' {SafetensorsFile.FormatShape(f.Shape)}"))} disagree on the rank");
                    continue;
                }
                foreach (var e in found)
                    if (!SafetensorsDType.IsFloating(e.DType)) problems.Add($"tensor '{e.Name}' is {e.DTypeName}, not a floating type");
                var savedRank = (int)ranks[0];
                var check = cm is not null
                    ? CheckAgainstMetadata(cm, name, layer, savedRank, options, problems)
                    : new MetadataCheck(0, null, null, null);
                plans.Add(new LayerPlan(c.Name, name, layer, expected.Select(e => e.Key).ToList(), savedRank,
                    check.DrawCount, check.TrialRow, check.InferenceRank, check.Mask));
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

    static List<ExpectedTensor> ExpectedTensors(string stem, IAdapter layer) => layer is AdaLoraLinear
        ?
        [
            new(stem + AdaASuffix, [-1, layer.InFeatures]),
            new(stem + AdaBSuffix, [layer.OutFeatures, -1]),
            new(stem + AdaESuffix, [-1, 1]),
        ]
        :
        [
            new(stem + ASuffix, [-1, layer.InFeatures]),
            new(stem + BSuffix, [layer.OutFeatures, -1]),
        ];

    static string FormatExpected(long[] dims) => "[" + string.Join(", ", dims.Select(d => d < 0 ? "r" : d.ToString(CultureInfo.InvariantCulture))) + "]";

    static bool Fits(SafetensorsEntry entry, long[] dims, IAdapter layer)
    {
        if (entry.Shape.Length != dims.Length) return false;
        for (var i = 0; i < dims.Length; i++)
            if (dims[i] < 0 ? !RankFits(layer, entry.Shape[i]) : entry.Shape[i] != dims[i]) return false;
        return true;
    }

    static string RankRule(IAdapter layer) => layer switch
    {
        SeLoraLinear s => s.Config.MaxRank is { } max ? $"rank {s.Rank}..{max}" : $"rank >= {s.Rank}",
        DyLoraLinear d => $"rank {d.MaxRank} (DyLoRA r_max)",
        AdaLoraLinear a => $"rank 0..{a.AllocatedRank} (AdaLoRA triplets held)",
        _ => $"rank {layer.Rank}",
    };

    static bool RankFits(IAdapter layer, long rank) => layer switch
    {
        SeLoraLinear s => rank >= s.Rank && (s.Config.MaxRank is not { } max || rank <= max),
        DyLoraLinear d => rank == d.MaxRank,
        // Loading prunes the module down to the saved triplets; it cannot grow.
        AdaLoraLinear a => rank >= 0 && rank <= a.AllocatedRank,
        _ => rank == layer.Rank,
    };

    sealed record MetadataCheck(long DrawCount, string? TrialRow, int? InferenceRank, bool[]? Mask);

    static MetadataCheck CheckAgainstMetadata(ComponentMetadata cm, string name, IAdapter layer, int savedRank,
        AdapterLoadOptions options, List<string> problems)
    {
        if (cm.Ranks.TryGetValue(name, out var metaRank) && metaRank != savedRank)
            problems.Add($"adapter '{name}': the metadata's rank_pattern says rank {metaRank}, the tensors have rank {savedRank}");
        int? inferenceRank = null;
        bool[]? mask = null;
        if (layer is AdaLoraLinear ada)
        {
            if (options.CheckScaling && cm.Alphas.TryGetValue(name, out var alpha) && !Close(alpha, ada.Scaling))
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"adapter '{name}': the file's AdaLoRA scaling (lora_alpha) {alpha} differs from the model's {ada.Scaling}"));
            var rankNum = cm.RankNums.TryGetValue(name, out var rn) ? rn : savedRank;
            if (options.CheckScaling && rankNum != ada.RankNum)
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"adapter '{name}': the file's ranknum is {rankNum}, the model's is {ada.RankNum} (other init_r); the output scale scaling / ranknum would differ"));
            if (cm.Masks.TryGetValue(name, out var m))
            {
                if (m.Length != savedRank) problems.Add($"adapter '{name}': the rank_pattern mask has {m.Length} entries, the tensors hold {savedRank} triplets");
                else mask = m;
            }
            return new MetadataCheck(0, null, null, mask);
        }
        var lora = (LoraLinear)layer;
        var seLora = layer as SeLoraLinear;
        if (options.CheckScaling && cm.Alphas.TryGetValue(name, out var loraAlpha))
        {
            var fileScaling = loraAlpha / savedRank;
            var modelScaling = seLora is not null ? seLora.Config.ScalingFor(savedRank) : lora.Scaling;
            if (!Close(fileScaling, modelScaling))
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"adapter '{name}': the file's scaling {loraAlpha}/{savedRank} = {fileScaling} differs from the model's {modelScaling} at rank {savedRank} (other alpha, initial rank or scaling rule)"));
        }
        if (layer is DyLoraLinear dy && cm.InferenceRanks.TryGetValue(name, out var ir))
        {
            if (ir < 1 || ir > dy.MaxRank) problems.Add($"adapter '{name}': the file's inference rank {ir} is outside [1, {dy.MaxRank}]");
            else inferenceRank = ir;
        }
        if (seLora is null || !options.RestoreGrowthState || !cm.Growth.TryGetValue(name, out var g)) return new MetadataCheck(0, null, inferenceRank, null);
        if (cm.Seed is { } seed && seed != seLora.Config.Seed)
            problems.Add($"adapter '{name}': the file was trained with seed {seed}, the model's SeLoRA config has seed {seLora.Config.Seed}; later draws would differ (load without restoring growth state to accept)");
        if (g.LayerIndex != seLora.LayerIndex)
            problems.Add($"adapter '{name}': the file's layer index is {g.LayerIndex}, the model's is {seLora.LayerIndex}; later draws would differ (inject in the same order, or load without restoring growth state)");
        if (g.DrawCount < 1) problems.Add($"adapter '{name}': growth state draw count {g.DrawCount} is below 1");
        var expectedLength = seLora.InFeatures * sizeof(float);
        if (Base64Length(g.TrialRow) is var length && length != expectedLength)
            problems.Add($"adapter '{name}': growth state trial row has {length} bytes; [1, {seLora.InFeatures}] float32 needs {expectedLength}");
        return new MetadataCheck(g.DrawCount, g.TrialRow, null, null);
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
        var wanted = new HashSet<string>(plan.Layers.SelectMany(l => l.Keys), StringComparer.Ordinal);
        var tensors = SafetensorsFile.Load(plan.Path, wanted.Contains);
        try
        {
            var loaded = new List<LoadedAdapter>(plan.Layers.Count);
            foreach (var l in plan.Layers)
            {
                var previous = l.Layer is DyLoraLinear d0 ? d0.InferenceRank : l.Layer.Rank;
                var restored = false;
                switch (l.Layer)
                {
                    case AdaLoraLinear ada:
                        LoadAdaLora(ada, l, tensors);
                        break;
                    case LoraLinear lora:
                        if (lora is SeLoraLinear s)
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
                            lora.A.copy_(tensors[l.Keys[0]]);
                            lora.B.copy_(tensors[l.Keys[1]]);
                        }
                        if (lora is SeLoraLinear seLora && l.TrialRow is not null)
                        {
                            using var row = DecodeRow(l.TrialRow, seLora.InFeatures);
                            seLora.RestoreGrowthState(l.DrawCount, row);
                            restored = true;
                        }
                        if (lora is DyLoraLinear dy && l.InferenceRank is { } ir) dy.InferenceRank = ir;
                        break;
                }
                var rank = l.Layer is DyLoraLinear d1 ? d1.InferenceRank : l.Layer.Rank;
                loaded.Add(new LoadedAdapter(l.Component, l.Name, previous, rank, restored));
            }
            return loaded;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Prunes the module to the saved number of triplets (mask keeping the first ones, then <see cref="AdaLoraLinear.Prune"/>),
    /// records the saved mask with <see cref="AdaLoraLinear.ApplyMask"/>, and only then copies A, B and E, since masking
    /// zeroes E entries that training may have moved since the last masking.
    /// </summary>
    static void LoadAdaLora(AdaLoraLinear ada, LayerPlan l, Dictionary<string, Tensor> tensors)
    {
        if (ada.AllocatedRank != l.SavedRank)
        {
            ada.ApplyMask(Enumerable.Range(0, ada.AllocatedRank).Select(i => i < l.SavedRank).ToArray());
            var pruning = ada.Prune();
            pruning.OldA.Dispose();
            pruning.OldB.Dispose();
            pruning.OldE.Dispose();
        }
        ada.ApplyMask(l.Mask ?? Enumerable.Repeat(true, l.SavedRank).ToArray());
        using (no_grad())
        {
            ada.A.copy_(tensors[l.Keys[0]]);
            ada.B.copy_(tensors[l.Keys[1]]);
            ada.E.copy_(tensors[l.Keys[2]]);
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
        IReadOnlyDictionary<string, double> Alphas, IReadOnlyDictionary<string, GrowthState> Growth)
    {
        /// <summary>AdaLoRA: each layer's mask over the triplets the file holds.</summary>
        public IReadOnlyDictionary<string, bool[]> Masks { get; init; } = new Dictionary<string, bool[]>();

        /// <summary>AdaLoRA: ranknum where it differs from the held triplets.</summary>
        public IReadOnlyDictionary<string, double> RankNums { get; init; } = new Dictionary<string, double>();

        /// <summary>DyLoRA: each layer's inference rank.</summary>
        public IReadOnlyDictionary<string, int> InferenceRanks { get; init; } = new Dictionary<string, int>();

        /// <summary>DyLoRA: r_max from the config.</summary>
        public int? DyLoraMaxRank { get; init; }
    }

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
                // rank_pattern holds ranks, or (AdaLoRA) masks over the held triplets.
                var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
                var masks = new Dictionary<string, bool[]>(StringComparer.Ordinal);
                foreach (var p in c.GetProperty("rank_pattern").EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Array)
                    {
                        masks[p.Name] = p.Value.EnumerateArray().Select(v => v.GetBoolean()).ToArray();
                        ranks[p.Name] = masks[p.Name].Length;
                    }
                    else ranks[p.Name] = p.Value.GetInt32();
                }
                var method = c.GetProperty("method").GetString()!;
                int? dyMax = method == DyLoraMethod && config.ValueKind == JsonValueKind.Object && config.TryGetProperty("r", out var r) ? r.GetInt32() : null;
                components.Add(new ComponentMetadata(
                    c.GetProperty("name").GetString()!,
                    method,
                    seed,
                    ranks,
                    c.GetProperty("alpha_pattern").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal),
                    growth)
                {
                    Masks = masks,
                    RankNums = c.TryGetProperty("ranknum", out var rn)
                        ? rn.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal)
                        : new Dictionary<string, double>(),
                    InferenceRanks = c.TryGetProperty("inference_ranks", out var ir)
                        ? ir.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal)
                        : new Dictionary<string, int>(),
                    DyLoraMaxRank = dyMax,
                });
            }
            return new FileMetadata(convention, components);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new AdapterFileException($"{header.Path}: the \"{MetadataKey}\" metadata is malformed: {e.Message}", e);
        }
    }
}
