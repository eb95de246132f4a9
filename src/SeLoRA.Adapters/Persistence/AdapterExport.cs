using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
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
/// Converts an adapter file written by <see cref="AdapterFile.Save(string, IReadOnlyList{AdapterComponent}, AdapterKeyConvention)"/>
/// (a checkpoint's adapters.safetensors: components "text_encoder" and "unet", diffusers' keys) into the files PEFT,
/// diffusers or kohya-based tools (sd-scripts, A1111, ComfyUI) load, from the file's tensors and metadata alone (no base
/// model needed).
/// </summary>
/// <remarks>
/// <para>Per-layer rank and scaling come from the "selora_adapter" metadata (rank_pattern, alpha_pattern with
/// alpha = scaling * rank, ranknum, inference_ranks); a file without it is read as plain LoRA with its alphas from
/// "lora_adapter_metadata", or else from the adapters of <c>componentsForLoading</c> (the models it came from).</para>
/// <para>PEFT: &lt;out&gt;/&lt;component&gt;/adapter_model.safetensors (keys <c>base_model.model.&lt;module&gt;...</c>, the
/// same tensors bit for bit) and adapter_config.json (r and lora_alpha the most common rank and alpha, rank_pattern and
/// alpha_pattern for the other layers, full module names as target_modules; AdaLoRA: PEFT's ADALORA config), as
/// <see cref="AdapterFile.SaveFolder"/> writes them; the "selora_adapter" metadata goes along, so
/// <see cref="AdapterFile.LoadFolder"/> restores growth state too. DyLoRA is written at r_max, as AdapterFile does.</para>
/// <para>diffusers: &lt;out&gt;/pytorch_lora_weights.safetensors with keys <c>unet.&lt;module&gt;.lora_A.weight</c>,
/// <c>.lora_B.weight</c>, <c>text_encoder.&lt;module&gt;...</c> and "lora_adapter_metadata" (per-component LoraConfig
/// fields prefixed "unet.", "text_encoder."), which load_lora_weights turns into each component's LoraConfig (so per-layer
/// ranks and alphas survive). diffusers has no AdaLoRA, so such files are refused.</para>
/// <para>kohya: one file, keys per <see cref="KohyaKeys"/>: lora_down = A [r, in], lora_up = B [out, r], alpha a float32
/// scalar with alpha / r = the layer's own scaling (kohya's forward scale), so layers of different ranks keep their
/// scalings. Metadata: ss_network_module "networks.lora"; ss_network_dim and ss_network_alpha the common rank and alpha
/// when all layers share them, otherwise "Dynamic" (what sd-scripts' resize_lora.py writes for per-layer ranks); the
/// "selora_adapter" metadata rides along (kohya tools ignore it) so <see cref="ImportKohya"/> restores exactly. DyLoRA is
/// written at each layer's inference rank (the branch the model generates with: first b rows, alpha / b scaling); AdaLoRA
/// is folded into plain LoRA (lora_down = A * E, lora_up = B, alpha / r = lora_alpha / (ranknum + 1e-5)), layers with no
/// triplets left out; both are described as "lora" in the metadata, since the file holds plain LoRA.</para>
/// </remarks>
public static class AdapterExport
{
    /// <summary>The kohya file's name when the output path is a folder.</summary>
    public const string KohyaFileName = "lora_kohya.safetensors";

    /// <summary>The format names <see cref="ParseFormat"/> accepts.</summary>
    public static IReadOnlyList<string> FormatNames { get; } = ["peft", "diffusers", "kohya"];

    const string ASuffix = ".lora_A.weight";
    const string BSuffix = ".lora_B.weight";
    const string AdaASuffix = ".lora_A";
    const string AdaBSuffix = ".lora_B";
    const string AdaESuffix = ".lora_E";

    /// <summary>Parses "peft", "diffusers" or "kohya" (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Any other text; the message names the accepted formats.</exception>
    public static AdapterExportFormat ParseFormat(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "peft" => AdapterExportFormat.Peft,
            "diffusers" => AdapterExportFormat.Diffusers,
            "kohya" => AdapterExportFormat.Kohya,
            _ => throw new ArgumentException($"Unknown export format '{text}' (accepted: {string.Join(", ", FormatNames)}).", nameof(text)),
        };
    }

    /// <summary>
    /// Writes <paramref name="adaptersFile"/> in <paramref name="format"/>: PEFT into the folder <paramref name="outPath"/>
    /// (one sub-folder per component), diffusers into the folder <paramref name="outPath"/>, kohya to the file
    /// <paramref name="outPath"/> (when it ends in .safetensors) or to <see cref="KohyaFileName"/> in that folder.
    /// Existing files of the same names are replaced. Returns the full paths of the files written.
    /// </summary>
    /// <param name="componentsForLoading">Only for files without "selora_adapter" and "lora_adapter_metadata": the models the
    /// file was saved from, whose adapters give each layer's scaling.</param>
    /// <exception cref="AdapterFileException">The file is not an adapter file this can read (the message says why).</exception>
    /// <exception cref="NotSupportedException">The format cannot hold the file's method (AdaLoRA in diffusers) or component
    /// names (kohya knows unet, text_encoder, text_encoder_2).</exception>
    public static IReadOnlyList<string> Export(string adaptersFile, AdapterExportFormat format, string outPath,
        IReadOnlyList<AdapterComponent>? componentsForLoading = null)
    {
        ArgumentNullException.ThrowIfNull(adaptersFile);
        ArgumentNullException.ThrowIfNull(outPath);
        TorchRuntime.EnsureLoaded();
        var source = Read(adaptersFile, componentsForLoading);
        return format switch
        {
            AdapterExportFormat.Peft => ExportPeft(source, outPath),
            AdapterExportFormat.Diffusers => ExportDiffusers(source, outPath),
            AdapterExportFormat.Kohya => ExportKohya(source, outPath),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, $"unknown export format (accepted: {string.Join(", ", FormatNames)})"),
        };
    }

    /// <summary>
    /// Loads a kohya LoRA file (one <see cref="Export"/> wrote, or another LoRA file with the same module names) into the
    /// models: each lora name is matched to the adapter whose flattened module name it is, the tensors are renamed to
    /// diffusers' keys (lora_down -> lora_A, lora_up -> lora_B) and loaded with <see cref="AdapterFile.Load"/> (SeLoRA layers
    /// grow to the file's ranks). With the "selora_adapter" metadata an export carries, everything AdapterFile checks and
    /// restores (method, scaling, growth state) is checked and restored; without it each alpha / r is checked against the
    /// layer's scaling (relative 1e-6, the precision of a float32 alpha). A missing alpha means alpha = r (kohya's default).
    /// </summary>
    /// <exception cref="AdapterFileException">The file does not fit the models; nothing was changed.</exception>
    public static IReadOnlyList<LoadedAdapter> ImportKohya(string file, IReadOnlyList<AdapterComponent> components, AdapterLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0) throw new ArgumentException("No components to load into.", nameof(components));
        TorchRuntime.EnsureLoaded();
        options ??= new AdapterLoadOptions();
        var header = SafetensorsFile.ReadHeader(file);
        var problems = new List<string>();

        var twoTextEncoders = components.Any(c => c.Name == "text_encoder_2");
        var byLoraName = new Dictionary<string, (AdapterComponent Component, string Module, IAdapter Layer)>(StringComparer.Ordinal);
        foreach (var c in components)
        {
            var prefix = KohyaKeys.PrefixOf(c.Name, twoTextEncoders);
            foreach (var (name, module) in c.Root.named_modules())
            {
                if (module is not IAdapter adapter) continue;
                var loraName = KohyaKeys.LoraName(prefix, name);
                if (byLoraName.TryGetValue(loraName, out var other))
                    throw new AdapterFileException($"{file}: the model's adapters '{other.Component.Name}.{other.Module}' and '{c.Name}.{name}' both flatten to kohya name '{loraName}'.");
                byLoraName[loraName] = (c, name, adapter);
            }
        }

        var groups = new Dictionary<string, Dictionary<string, SafetensorsEntry>>(StringComparer.Ordinal);
        foreach (var e in header.Entries)
        {
            if (KohyaKeys.Split(e.Name) is not { } split)
            {
                problems.Add($"tensor '{e.Name}' is not a kohya LoRA key (<lora_unet|lora_te>_<module>{KohyaKeys.DownSuffix}, {KohyaKeys.UpSuffix} or {KohyaKeys.AlphaSuffix})");
                continue;
            }
            if (!groups.TryGetValue(split.LoraName, out var g)) groups[split.LoraName] = g = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            g[split.Suffix] = e;
        }

        var meta = header.Metadata.TryGetValue(AdapterFile.MetadataKey, out var text) ? ParseRoot(file, text) : null;
        var metaAlphas = meta is null ? null : MetaAlphas(meta);
        var renames = new List<(string From, string To)>();
        var alphaKeys = new List<(string Key, string LoraName, double Expected, int Rank)>();
        foreach (var (loraName, g) in groups)
        {
            if (!byLoraName.TryGetValue(loraName, out var target))
            {
                problems.Add($"kohya layer '{loraName}': no adapter of the model flattens to that name " +
                             $"(components: {string.Join(", ", components.Select(c => $"'{c.Name}' as {KohyaKeys.PrefixOf(c.Name, twoTextEncoders)}_..."))})");
                continue;
            }
            if (!g.TryGetValue(KohyaKeys.DownSuffix, out var down) || !g.TryGetValue(KohyaKeys.UpSuffix, out var up))
            {
                problems.Add($"kohya layer '{loraName}' lacks {(g.ContainsKey(KohyaKeys.DownSuffix) ? KohyaKeys.UpSuffix : KohyaKeys.DownSuffix)}");
                continue;
            }
            if (target.Layer is AdaLoraLinear)
            {
                problems.Add($"kohya layer '{loraName}': the model's adapter '{target.Component.Name}.{target.Module}' is AdaLoRA; kohya files hold plain LoRA");
                continue;
            }
            if (down.Shape.Length != 2 || up.Shape.Length != 2 || up.Shape[1] != down.Shape[0])
            {
                problems.Add($"kohya layer '{loraName}': lora_down {SafetensorsFile.FormatShape(down.Shape)} and lora_up {SafetensorsFile.FormatShape(up.Shape)} are not [r, in] and [out, r]");
                continue;
            }
            var rank = (int)down.Shape[0];
            var stem = target.Component.Name + "." + target.Module;
            renames.Add((down.Name, stem + ASuffix));
            renames.Add((up.Name, stem + BSuffix));
            if (!g.TryGetValue(KohyaKeys.AlphaSuffix, out var alpha)) continue;
            if (alpha.ElementCount != 1 || !SafetensorsDType.IsFloating(alpha.DType) && alpha.DType is not (ScalarType.Int64 or ScalarType.Int32))
            {
                problems.Add($"tensor '{alpha.Name}' {alpha.DTypeName} {SafetensorsFile.FormatShape(alpha.Shape)} is not a scalar alpha");
                continue;
            }
            double? expected = metaAlphas is not null
                ? metaAlphas.TryGetValue((target.Component.Name, target.Module), out var a) ? a / rank : null
                : options.CheckScaling ? ModelScaling(target.Layer, rank) : null;
            if (expected is { } s) alphaKeys.Add((alpha.Name, loraName, s, rank));
        }
        foreach (var (loraName, (c, module, _)) in byLoraName)
            if (!groups.ContainsKey(loraName))
                problems.Add($"the model's adapter '{c.Name}.{module}' has no kohya layer '{loraName}' in the file");

        if (alphaKeys.Count > 0)
        {
            var wanted = alphaKeys.Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
            var alphas = SafetensorsFile.Load(file, wanted.Contains);
            try
            {
                foreach (var (key, loraName, expected, rank) in alphaKeys)
                {
                    using var value = alphas[key].to(ScalarType.Float64);
                    var scaling = value.item<double>() / rank;
                    if (Math.Abs(scaling - expected) > 1e-6 * Math.Abs(expected))
                        problems.Add(string.Create(CultureInfo.InvariantCulture,
                            $"kohya layer '{loraName}': alpha / r = {scaling} differs from {(metaAlphas is null ? "the model's" : "the metadata's")} scaling {expected} at rank {rank}"));
                }
            }
            finally
            {
                foreach (var t in alphas.Values) t.Dispose();
            }
        }
        if (problems.Count > 0)
        {
            const int shown = 20;
            var more = problems.Count > shown ? $"\n  ... and {problems.Count - shown} more" : "";
            throw new AdapterFileException($"{file} does not fit the model as a kohya LoRA file ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n  " +
                                           string.Join("\n  ", problems.Take(shown)) + more);
        }

        // AdapterFile loads from a path: the renamed tensors go through a temporary diffusers-convention file.
        var temp = Path.Combine(Path.GetTempPath(), $"selora-kohya-import-{Guid.NewGuid():N}.safetensors");
        var map = renames.ToDictionary(r => r.From, r => r.To, StringComparer.Ordinal);
        var tensors = SafetensorsFile.Load(file, map.ContainsKey);
        try
        {
            var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata);
            if (text is not null) metadata[AdapterFile.MetadataKey] = text;
            SafetensorsFile.Save(temp, tensors.Select(kv => KeyValuePair.Create(map[kv.Key], kv.Value)), metadata);
            try
            {
                return AdapterFile.Load(temp, components, options);
            }
            catch (AdapterFileException e)
            {
                throw new AdapterFileException(e.Message.Replace(temp, $"{file} (kohya keys read as diffusers keys)", StringComparison.Ordinal), e);
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // ---- reading the source file ----

    /// <summary>One adapted layer of the source: its tensor keys (A, B and for AdaLoRA E), the tensors' rank, its PEFT alpha
    /// (scaling * rank; AdaLoRA: lora_alpha), AdaLoRA's ranknum and DyLoRA's inference rank.</summary>
    sealed record Layer(string Module, string[] Keys, int Rank, double Alpha, double RankNum, int? InferenceRank);

    sealed record Component(string Name, string Method, JsonObject? Json, IReadOnlyList<Layer> Layers, double Dropout)
    {
        public bool IsAdaLora => Method == AdapterFile.AdaLoraMethod;
    }

    sealed record Source(string Path, IReadOnlyDictionary<string, string> Metadata, JsonObject? Root, IReadOnlyList<Component> Components);

    static Source Read(string path, IReadOnlyList<AdapterComponent>? models)
    {
        var header = SafetensorsFile.ReadHeader(path);
        var entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var root = header.Metadata.TryGetValue(AdapterFile.MetadataKey, out var text) ? ParseRoot(path, text) : null;
        var components = root is not null ? FromMetadata(path, root, entries) : FromKeys(path, header, entries, models);
        if (components.Count == 0) throw new AdapterFileException($"{path} holds no adapters.");
        var claimed = components.SelectMany(c => c.Layers).SelectMany(l => l.Keys).ToHashSet(StringComparer.Ordinal);
        var stray = header.Entries.Where(e => !claimed.Contains(e.Name)).Select(e => $"'{e.Name}'").ToList();
        if (stray.Count > 0)
            throw new AdapterFileException($"{path}: tensors {string.Join(", ", stray.Take(10))}{(stray.Count > 10 ? $" and {stray.Count - 10} more" : "")} belong to no adapter the metadata describes.");
        return new Source(path, header.Metadata, root, components);
    }

    static JsonObject ParseRoot(string path, string text)
    {
        try
        {
            var root = JsonNode.Parse(text) as JsonObject ?? throw new FormatException("not a JSON object");
            var version = root["format_version"]?.GetValue<int>();
            if (version != AdapterFile.FormatVersion)
                throw new AdapterFileException($"{path}: adapter format version {version?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} is not supported (this build reads {AdapterFile.FormatVersion})");
            if (root["components"] is not JsonArray) throw new FormatException("no \"components\" list");
            return root;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new AdapterFileException($"{path}: the \"{AdapterFile.MetadataKey}\" metadata is malformed: {e.Message}", e);
        }
    }

    /// <summary>(component, module) -> alpha from the metadata's alpha_pattern.</summary>
    static Dictionary<(string, string), double> MetaAlphas(JsonObject root)
    {
        var result = new Dictionary<(string, string), double>();
        foreach (var c in root["components"]!.AsArray().OfType<JsonObject>())
        {
            if (c["alpha_pattern"] is not JsonObject alphas) continue;
            var name = c["name"]!.GetValue<string>();
            foreach (var (module, v) in alphas) result[(name, module)] = v!.GetValue<double>();
        }
        return result;
    }

    static List<Component> FromMetadata(string path, JsonObject root, Dictionary<string, SafetensorsEntry> entries)
    {
        var result = new List<Component>();
        var problems = new List<string>();
        try
        {
            foreach (var c in root["components"]!.AsArray())
            {
                if (c is not JsonObject cj) throw new FormatException("a component is not an object");
                var name = cj["name"]!.GetValue<string>();
                var prefix = cj["key_prefix"]!.GetValue<string>();
                var method = cj["method"]!.GetValue<string>();
                var ada = method == AdapterFile.AdaLoraMethod;
                var alphas = cj["alpha_pattern"]!.AsObject();
                var rankNums = cj["ranknum"] as JsonObject;
                var inference = cj["inference_ranks"] as JsonObject;
                var layers = new List<Layer>();
                foreach (var (module, rankNode) in cj["rank_pattern"]!.AsObject())
                {
                    var metaRank = rankNode is JsonArray mask ? mask.Count : rankNode!.GetValue<int>();
                    var stem = prefix + module;
                    string[] keys = ada ? [stem + AdaASuffix, stem + AdaBSuffix, stem + AdaESuffix] : [stem + ASuffix, stem + BSuffix];
                    var rank = CheckTensors(keys, entries, problems);
                    if (rank is null) continue;
                    if (rank != metaRank) problems.Add($"adapter '{name}.{module}': the metadata's rank_pattern says rank {metaRank}, the tensors have rank {rank}");
                    if (alphas[module] is not { } alpha) throw new FormatException($"alpha_pattern has no entry for '{module}'");
                    layers.Add(new Layer(module, keys, rank.Value, alpha.GetValue<double>(),
                        rankNums?[module]?.GetValue<double>() ?? rank.Value, inference?[module]?.GetValue<int>()));
                }
                result.Add(new Component(name, method, cj, layers, DropoutOf(cj["config"])));
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new AdapterFileException($"{path}: the \"{AdapterFile.MetadataKey}\" metadata is malformed: {e.Message}", e);
        }
        ThrowIfAny(path, problems);
        return result;
    }

    /// <summary>A file without "selora_adapter": plain LoRA, components from the key prefixes, alphas from
    /// "lora_adapter_metadata" or the given models.</summary>
    static List<Component> FromKeys(string path, SafetensorsHeader header, Dictionary<string, SafetensorsEntry> entries, IReadOnlyList<AdapterComponent>? models)
    {
        var peft = header.Entries.Count > 0 && header.Entries.All(e => e.Name.StartsWith(AdapterFile.PeftPrefix, StringComparison.Ordinal));
        var configs = header.Metadata.TryGetValue(AdapterFile.DiffusersMetadataKey, out var dm) ? DiffusersConfigs(path, dm) : [];
        var problems = new List<string>();
        var result = new List<Component>();
        var stems = header.Entries.Where(e => e.Name.EndsWith(ASuffix, StringComparison.Ordinal)).Select(e => e.Name[..^ASuffix.Length]);
        var byComponent = peft
            ? stems.GroupBy(_ => models is [var only] ? only.Name : "model")
            : stems.GroupBy(s => s.Contains('.') ? s[..s.IndexOf('.')] : "");
        foreach (var g in byComponent)
        {
            var prefix = peft ? AdapterFile.PeftPrefix : g.Key + ".";
            var model = models?.FirstOrDefault(m => m.Name == g.Key);
            var adapters = model?.Root.named_modules().Where(m => m.module is LoraLinear).ToDictionary(m => m.name, m => (LoraLinear)m.module);
            var layers = new List<Layer>();
            foreach (var stem in g)
            {
                var module = stem[prefix.Length..];
                string[] keys = [stem + ASuffix, stem + BSuffix];
                if (CheckTensors(keys, entries, problems) is not { } rank) continue;
                double alpha;
                if (configs.TryGetValue(g.Key, out var config)) alpha = config.Resolve(module).Alpha;
                else if (adapters is not null && adapters.TryGetValue(module, out var adapter)) alpha = PeftLoraConfig.AlphaFor(adapter.Scaling, rank);
                else
                {
                    problems.Add($"adapter '{g.Key}.{module}': no \"{AdapterFile.MetadataKey}\" or \"{AdapterFile.DiffusersMetadataKey}\" metadata gives its alpha, and no model was given that has it");
                    continue;
                }
                layers.Add(new Layer(module, keys, rank, alpha, rank, null));
            }
            result.Add(new Component(g.Key, AdapterFile.LoraMethod, null, layers, 0));
        }
        ThrowIfAny(path, problems);
        return result;
    }

    /// <summary>diffusers' "lora_adapter_metadata" ({"unet.r": 4, "unet.lora_alpha": ...}) as a LoRA config per component.</summary>
    static Dictionary<string, PeftLoraConfig> DiffusersConfigs(string path, string text)
    {
        try
        {
            var flat = JsonNode.Parse(text)!.AsObject();
            var result = new Dictionary<string, PeftLoraConfig>(StringComparer.Ordinal);
            foreach (var group in flat.Where(kv => kv.Key.Contains('.')).GroupBy(kv => kv.Key[..kv.Key.IndexOf('.')]))
            {
                var obj = new JsonObject();
                foreach (var (k, v) in group) obj[k[(group.Key.Length + 1)..]] = v?.DeepClone();
                using var doc = JsonDocument.Parse(obj.ToJsonString());
                result[group.Key] = PeftLoraConfig.FromJson(doc.RootElement);
            }
            return result;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new AdapterFileException($"{path}: the \"{AdapterFile.DiffusersMetadataKey}\" metadata is malformed: {e.Message}", e);
        }
    }

    /// <summary>Checks A [r, in], B [out, r] (and E [r, 1]) exist as floating tensors; returns r, or null after adding problems.</summary>
    static int? CheckTensors(string[] keys, Dictionary<string, SafetensorsEntry> entries, List<string> problems)
    {
        var found = new List<SafetensorsEntry>();
        foreach (var k in keys)
        {
            if (!entries.TryGetValue(k, out var e)) problems.Add($"missing tensor '{k}'");
            else if (e.Shape.Length != 2) problems.Add($"tensor '{k}' has shape {SafetensorsFile.FormatShape(e.Shape)}; expected two dimensions");
            else if (!SafetensorsDType.IsFloating(e.DType)) problems.Add($"tensor '{k}' is {e.DTypeName}, not a floating type");
            else found.Add(e);
        }
        if (found.Count != keys.Length) return null;
        var (a, b) = (found[0], found[1]);
        var ok = b.Shape[1] == a.Shape[0] && (found.Count < 3 || (found[2].Shape[0] == a.Shape[0] && found[2].Shape[1] == 1));
        if (!ok)
        {
            problems.Add($"tensors {string.Join(" and ", found.Select(f => $"'{f.Name}' {SafetensorsFile.FormatShape(f.Shape)}"))} disagree on the rank");
            return null;
        }
        return (int)a.Shape[0];
    }

    static double DropoutOf(JsonNode? config)
    {
        if (config is not JsonObject c) return 0;
        var node = c["lora_dropout"] ?? c["dropout"];
        return node is JsonValue v && v.TryGetValue<double>(out var d) ? d : 0;
    }

    static void ThrowIfAny(string path, List<string> problems)
    {
        if (problems.Count == 0) return;
        const int shown = 20;
        var more = problems.Count > shown ? $"\n  ... and {problems.Count - shown} more" : "";
        throw new AdapterFileException($"{path} is not a readable adapter file ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n  " +
                                       string.Join("\n  ", problems.Take(shown)) + more);
    }

    // ---- writing ----

    static IReadOnlyList<string> ExportPeft(Source source, string outPath)
    {
        if (File.Exists(outPath)) throw new IOException($"{outPath} is a file; the PEFT export writes a folder (one sub-folder per component).");
        var written = new List<string>();
        foreach (var c in source.Components)
        {
            var folder = Path.GetFullPath(Path.Combine(outPath, c.Name));
            var weights = Path.Combine(folder, AdapterFile.PeftWeightsFileName);
            var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata);
            if (c.Json is not null) metadata[AdapterFile.MetadataKey] = RootWith(source.Root!, "peft", [ComponentWithPrefix(c.Json, AdapterFile.PeftPrefix)]);
            SaveRenamed(source.Path, weights, c, layer => AdapterFile.PeftPrefix + layer.Module, metadata);
            written.Add(weights);
            var configPath = Path.Combine(folder, AdapterFile.PeftConfigFileName);
            if (c.IsAdaLora) File.WriteAllText(configPath, AdaLoraPeftConfig(c).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            else PeftConfig(c).Write(configPath);
            written.Add(configPath);
        }
        return written;
    }

    static IReadOnlyList<string> ExportDiffusers(Source source, string outPath)
    {
        if (File.Exists(outPath)) throw new IOException($"{outPath} is a file; the diffusers export writes a folder holding {AdapterFile.DiffusersWeightsFileName}.");
        if (source.Components.FirstOrDefault(c => c.IsAdaLora) is { } ada)
            throw new NotSupportedException($"{source.Path}: component '{ada.Name}' holds AdaLoRA adapters, which diffusers cannot load; export peft (PEFT's ADALORA) or kohya (folded into plain LoRA).");
        var file = Path.GetFullPath(Path.Combine(outPath, AdapterFile.DiffusersWeightsFileName));
        var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata);
        if (source.Root is not null)
            metadata[AdapterFile.MetadataKey] = RootWith(source.Root, "diffusers", source.Components.Select(c => ComponentWithPrefix(c.Json!, c.Name + ".")).ToList());
        if (source.Metadata.TryGetValue(AdapterFile.DiffusersMetadataKey, out var dm)) metadata[AdapterFile.DiffusersMetadataKey] = dm;
        else
        {
            var flat = new JsonObject();
            foreach (var c in source.Components)
                foreach (var (k, v) in PeftConfig(c).ToJson(adapterConfigFile: false)) flat[$"{c.Name}.{k}"] = v?.DeepClone();
            metadata[AdapterFile.DiffusersMetadataKey] = flat.ToJsonString();
        }
        SaveAll(source.Path, file, source.Components.SelectMany(c => c.Layers.SelectMany(l =>
            l.Keys.Select(k => (k, c.Name + "." + l.Module + SuffixOf(k, l))))), metadata);
        return [file];
    }

    static IReadOnlyList<string> ExportKohya(Source source, string outPath)
    {
        var file = Path.GetFullPath(outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? outPath : Path.Combine(outPath, KohyaFileName));
        var twoTextEncoders = source.Components.Any(c => c.Name == "text_encoder_2");
        var prefixes = source.Components.ToDictionary(c => c.Name, c => KohyaKeys.PrefixOf(c.Name, twoTextEncoders));
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in source.Components)
            foreach (var l in c.Layers)
            {
                var loraName = KohyaKeys.LoraName(prefixes[c.Name], l.Module);
                if (!names.TryAdd(loraName, $"{c.Name}.{l.Module}"))
                    throw new NotSupportedException($"{source.Path}: adapters '{names[loraName]}' and '{c.Name}.{l.Module}' both flatten to kohya name '{loraName}'.");
            }

        // Every tensor here (loaded, sliced, folded) is disposed with the scope.
        using var scope = NewDisposeScope();
        var tensors = SafetensorsFile.Load(source.Path);
        var output = new List<KeyValuePair<string, Tensor>>();
        var ranks = new HashSet<int>();
        var alphas = new HashSet<float>();
        var metaComponents = new List<JsonObject>();
        foreach (var c in source.Components)
        {
            var plain = new List<(string Module, int Rank, double Alpha)>();
            foreach (var l in c.Layers)
            {
                var (down, up, rank, alpha) = KohyaLayer(c, l, tensors);
                if (rank == 0) continue;
                var loraName = KohyaKeys.LoraName(prefixes[c.Name], l.Module);
                output.Add(KeyValuePair.Create(loraName + KohyaKeys.DownSuffix, down));
                output.Add(KeyValuePair.Create(loraName + KohyaKeys.UpSuffix, up));
                output.Add(KeyValuePair.Create(loraName + KohyaKeys.AlphaSuffix, tensor((float)alpha)));
                ranks.Add(rank);
                alphas.Add((float)alpha);
                plain.Add((l.Module, rank, alpha));
            }
            if (c.Json is null) continue;
            // SeLoRA and LoRA keep their metadata as it is (same tensors); DyLoRA (truncated) and AdaLoRA (folded) are now plain LoRA.
            metaComponents.Add(c.Method is AdapterFile.SeLoraMethod or AdapterFile.LoraMethod
                ? ComponentWithPrefix(c.Json, c.Name + ".")
                : PlainLoraComponent(c.Name, plain, c.Dropout));
        }
        if (output.Count == 0) throw new AdapterFileException($"{source.Path}: no layer has a non-zero rank to export.");
        var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata)
        {
            ["ss_network_module"] = KohyaKeys.NetworkModule,
            ["ss_network_dim"] = ranks.Count == 1 ? ranks.Single().ToString(CultureInfo.InvariantCulture) : KohyaKeys.Dynamic,
            ["ss_network_alpha"] = alphas.Count == 1 ? PythonFloat(alphas.Single()) : KohyaKeys.Dynamic,
            ["ss_training_comment"] = $"exported by SeLoRA.Cluster from {Path.GetFileName(source.Path)} ({string.Join(", ", source.Components.Select(c => $"{c.Name}: {c.Method}"))})",
        };
        if (source.Root is not null) metadata[AdapterFile.MetadataKey] = RootWith(source.Root, "diffusers", metaComponents);
        SafetensorsFile.Save(file, output, metadata);
        return [file];
    }

    /// <summary>lora_down, lora_up, rank and alpha (alpha / rank = the layer's output scale) of one layer as plain LoRA.</summary>
    static (Tensor Down, Tensor Up, int Rank, double Alpha) KohyaLayer(Component c, Layer l, Dictionary<string, Tensor> tensors)
    {
        var (a, b) = (tensors[l.Keys[0]], tensors[l.Keys[1]]);
        switch (c.Method)
        {
            case AdapterFile.AdaLoraMethod:
            {
                // AdaLoRA's update is B (A * E) * lora_alpha / (ranknum + 1e-5) (AdaLoraLinear.DeltaWeight).
                var scale = l.Alpha / (l.RankNum + 1e-5);
                return (a.mul(tensors[l.Keys[2]]).contiguous(), b, l.Rank, l.Rank == 0 ? 0 : PeftLoraConfig.AlphaFor(scale, l.Rank));
            }
            case AdapterFile.DyLoraMethod when l.InferenceRank is { } ir && ir < l.Rank:
            {
                // The rank-b branch: first b rows of A and columns of B, scale (alpha / r_max) * (r_max / b) (DyLoraLinear.ScalingFor).
                var f = Math.Sqrt((double)l.Rank / ir);
                var scale = l.Alpha / l.Rank * f * f;
                return (a.narrow(0, 0, ir).contiguous(), b.narrow(1, 0, ir).contiguous(), ir, PeftLoraConfig.AlphaFor(scale, ir));
            }
            default:
                return (a, b, l.Rank, l.Alpha);
        }
    }

    static JsonObject PlainLoraComponent(string name, List<(string Module, int Rank, double Alpha)> layers, double dropout)
    {
        var ranks = new JsonObject();
        var alphas = new JsonObject();
        foreach (var (module, rank, alpha) in layers)
        {
            ranks[module] = rank;
            alphas[module] = alpha;
        }
        var config = layers.Count > 0 ? Config(layers, dropout).ToJson(adapterConfigFile: false) : new JsonObject();
        return new JsonObject
        {
            ["name"] = name,
            ["key_prefix"] = name + ".",
            ["method"] = AdapterFile.LoraMethod,
            ["config"] = config,
            ["rank_pattern"] = ranks,
            ["alpha_pattern"] = alphas,
        };
    }

    /// <summary>Python's str(float) for the alphas sd-scripts writes ("8.0", "0.5").</summary>
    static string PythonFloat(float value)
    {
        var text = ((double)value).ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') || !double.IsFinite(value) ? text : text + ".0";
    }

    static PeftLoraConfig PeftConfig(Component c) => Config(c.Layers.Select(l => (l.Module, l.Rank, l.Alpha)).ToList(), c.Dropout);

    /// <summary>As <see cref="PeftLoraConfig.FromLayers"/>, from the stored alphas (so they are written unchanged).</summary>
    static PeftLoraConfig Config(IReadOnlyList<(string Module, int Rank, double Alpha)> layers, double dropout)
    {
        var r = layers.GroupBy(l => l.Rank).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var alpha = layers.GroupBy(l => l.Alpha).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        return new PeftLoraConfig
        {
            R = r,
            LoraAlpha = alpha,
            TargetModules = layers.Select(l => l.Module).ToList(),
            RankPattern = layers.Where(l => l.Rank != r).Select(l => KeyValuePair.Create(l.Module, l.Rank)).ToList(),
            AlphaPattern = layers.Where(l => l.Alpha != alpha).Select(l => KeyValuePair.Create(l.Module, l.Alpha)).ToList(),
            LoraDropout = dropout,
        };
    }

    /// <summary>PEFT's ADALORA adapter_config.json, as <see cref="AdapterFile.SaveFolder"/> writes it: the metadata's config
    /// (PEFT's AdaLoraConfig names, less seed) and a rank_pattern keeping every held triplet.</summary>
    static JsonObject AdaLoraPeftConfig(Component c)
    {
        var config = (c.Json!["config"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject();
        config.Remove("seed");
        var pattern = new JsonObject();
        foreach (var l in c.Layers)
            pattern[AdapterFile.PeftPrefix + l.Module + AdaESuffix] = new JsonArray(Enumerable.Repeat(true, l.Rank).Select(k => (JsonNode)JsonValue.Create(k)).ToArray());
        var result = new JsonObject
        {
            ["peft_type"] = "ADALORA",
            ["r"] = config["init_r"]?.GetValue<int>() ?? c.Layers.Select(l => l.Rank).DefaultIfEmpty(0).Max(),
            ["target_modules"] = new JsonArray(c.Layers.Select(l => (JsonNode)JsonValue.Create(l.Module)).ToArray()),
            ["bias"] = "none",
            ["init_lora_weights"] = true,
            ["inference_mode"] = false,
        };
        foreach (var (k, v) in config) result[k] = v?.DeepClone();
        result["rank_pattern"] = pattern;
        return result;
    }

    static JsonObject ComponentWithPrefix(JsonObject component, string prefix)
    {
        var copy = component.DeepClone().AsObject();
        copy["key_prefix"] = prefix;
        return copy;
    }

    static string RootWith(JsonObject root, string convention, IReadOnlyList<JsonObject> components)
    {
        var copy = root.DeepClone().AsObject();
        copy["convention"] = convention;
        copy["components"] = new JsonArray(components.Select(c => (JsonNode)c).ToArray());
        return copy.ToJsonString();
    }

    static string SuffixOf(string key, Layer l) => key[key.LastIndexOf(".lora_", StringComparison.Ordinal)..];

    static void SaveRenamed(string sourcePath, string target, Component c, Func<Layer, string> stem, IReadOnlyDictionary<string, string> metadata)
        => SaveAll(sourcePath, target, c.Layers.SelectMany(l => l.Keys.Select(k => (k, stem(l) + SuffixOf(k, l)))), metadata);

    /// <summary>Copies tensors (bit for bit, in their stored dtype) from the source under new names.</summary>
    static void SaveAll(string sourcePath, string target, IEnumerable<(string From, string To)> renames, IReadOnlyDictionary<string, string> metadata)
    {
        var map = renames.ToDictionary(r => r.From, r => r.To, StringComparer.Ordinal);
        var tensors = SafetensorsFile.Load(sourcePath, map.ContainsKey);
        try
        {
            SafetensorsFile.Save(target, tensors.Select(kv => KeyValuePair.Create(map[kv.Key], kv.Value)), metadata);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The scaling a model's adapter has at <paramref name="rank"/> (SeLoRA: its rule at that rank; DyLoRA: the rank-b branch's).</summary>
    static double? ModelScaling(IAdapter layer, int rank) => layer switch
    {
        SeLoraLinear s => s.Config.ScalingFor(rank),
        DyLoraLinear d => rank >= 1 && rank <= d.MaxRank ? d.ScalingFor(rank) : null,
        LoraLinear l => l.Scaling,
        _ => null,
    };
}
