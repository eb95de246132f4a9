using SeLoRA.Torch.Safetensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// A diffusers pipeline folder: model_index.json (component → [library, class]) and one folder per component with its
/// config and safetensors weights. Builds no models: model code reads <see cref="ReadConfig"/>, constructs its module and
/// calls <see cref="LoadInto"/> (or <see cref="StateDictLoader"/> with <see cref="LoadStateDict"/>).
/// </summary>
public sealed class DiffusersFolder
{
    public const string ModelIndexFileName = "model_index.json";
    public const string SchedulerConfigFileName = "scheduler_config.json";

    /// <summary>Config names tried in a component folder: models, schedulers, tokenizers, image processors.</summary>
    static readonly string[] ConfigFileNames = [ComponentWeights.ConfigFileName, SchedulerConfigFileName, "tokenizer_config.json", "preprocessor_config.json"];

    DiffusersFolder(string root, JsonElement modelIndex, IReadOnlyDictionary<string, ModelIndexEntry> components)
    {
        Root = root;
        ModelIndex = modelIndex;
        Components = components;
    }

    /// <summary>The pipeline folder.</summary>
    public string Root { get; }

    public string ModelIndexPath => Path.Combine(Root, ModelIndexFileName);

    /// <summary>The whole model_index.json (pipeline options such as requires_safety_checker included).</summary>
    public JsonElement ModelIndex { get; }

    /// <summary>Components by name, from the model_index.json lines whose value is a [library, class] pair.</summary>
    public IReadOnlyDictionary<string, ModelIndexEntry> Components { get; }

    /// <summary>"_class_name", e.g. StableDiffusionPipeline.</summary>
    public string? PipelineClassName => StringProperty("_class_name");

    public string? DiffusersVersion => StringProperty("_diffusers_version");

    public string SchedulerFolder => ComponentFolder("scheduler");

    public string TokenizerFolder => ComponentFolder("tokenizer");

    /// <summary>Reads model_index.json of a pipeline folder.</summary>
    public static DiffusersFolder Open(string root)
    {
        root = Path.GetFullPath(root);
        var path = Path.Combine(root, ModelIndexFileName);
        if (!File.Exists(path))
            throw new WeightFileException($"Not a diffusers pipeline folder: {path} does not exist");
        var index = ComponentConfig.Read(path).Root;
        var components = new SortedDictionary<string, ModelIndexEntry>(StringComparer.Ordinal);
        foreach (var property in index.EnumerateObject())
        {
            if (property.Name.StartsWith('_') || property.Value.ValueKind != JsonValueKind.Array) continue;
            if (property.Value.GetArrayLength() != 2)
                throw new WeightFileException($"{path}: component \"{property.Name}\" must be [library, class], not {property.Value.GetRawText()}");
            components[property.Name] = new ModelIndexEntry(NullableString(path, property.Name, property.Value[0]),
                NullableString(path, property.Name, property.Value[1]));
        }
        return new DiffusersFolder(root, index, components);
    }

    /// <summary>The folder of a component; it must be listed in model_index.json and exist.</summary>
    public string ComponentFolder(string component)
    {
        if (!Components.TryGetValue(component, out var entry))
            throw new WeightFileException(
                $"{ModelIndexPath} lists no component \"{component}\"; it lists: {string.Join(", ", Components.Keys)}");
        var folder = Path.Combine(Root, component);
        if (entry.ClassName == null)
            throw new WeightFileException($"{ModelIndexPath}: component \"{component}\" is [null, null] (left out of this pipeline)");
        if (!Directory.Exists(folder))
            throw new WeightFileException($"{ModelIndexPath} lists \"{component}\" ({entry.ClassName}), but {folder} does not exist");
        return folder;
    }

    /// <summary>Whether a listed, non-null component has its folder here (SD1.5 lists a safety_checker many copies omit).</summary>
    public bool HasComponent(string component) =>
        Components.TryGetValue(component, out var e) && e.ClassName != null && Directory.Exists(Path.Combine(Root, component));

    /// <summary>The component's config (config.json, or scheduler_config.json, tokenizer_config.json, preprocessor_config.json).</summary>
    public ComponentConfig ReadConfig(string component)
    {
        var folder = ComponentFolder(component);
        foreach (var name in ConfigFileNames)
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path)) return ComponentConfig.Read(path);
        }
        var present = Directory.EnumerateFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        throw new WeightFileException(
            $"No config in {folder}: looked for {string.Join(", ", ConfigFileNames)}; files present: {string.Join(", ", present)}");
    }

    /// <summary>The component's weights file or shard index for the variant.</summary>
    public WeightSource FindWeights(string component, string? variant = null) => WeightFiles.Find(ComponentFolder(component), variant);

    /// <summary>See <see cref="ComponentWeights.LoadStateDict"/>.</summary>
    public Dictionary<string, Tensor> LoadStateDict(string component, LoadOptions? options = null) =>
        ComponentWeights.LoadStateDict(ComponentFolder(component), options);

    /// <summary>See <see cref="ComponentWeights.LoadInto"/>.</summary>
    public LoadReport LoadInto(string component, nn.Module module, LoadOptions? options = null) =>
        ComponentWeights.LoadInto(ComponentFolder(component), module, options);

    /// <summary>Loads a component's weights from <c>folder/component</c> (model_index.json is not needed).</summary>
    public static Dictionary<string, Tensor> LoadComponentStateDict(string folder, string component, LoadOptions? options = null) =>
        ComponentWeights.LoadStateDict(Path.Combine(folder, component), options);

    /// <summary>Loads <c>folder/component</c>'s weights into a module (model_index.json is not needed).</summary>
    public static LoadReport LoadComponent(string folder, string component, nn.Module module, LoadOptions? options = null) =>
        ComponentWeights.LoadInto(Path.Combine(folder, component), module, options);

    /// <summary>Writes <c>folder/component/config.json</c> and the module's weights; returns the weights path.</summary>
    public static string SaveComponent(string folder, string component, string configJson, nn.Module module, SaveOptions? options = null) =>
        ComponentWeights.Save(Path.Combine(folder, component), configJson, module, options);

    /// <inheritdoc cref="SaveComponent(string, string, string, nn.Module, SaveOptions?)"/>
    public static string SaveComponent(string folder, string component, JsonNode config, nn.Module module, SaveOptions? options = null) =>
        ComponentWeights.Save(Path.Combine(folder, component), config, module, options);

    /// <summary>
    /// Writes a whole pipeline folder: model_index.json, and each component's config, weights and copied files, in the
    /// layout <see cref="Open"/> reads. Existing files of the same names are replaced; other files are left alone.
    /// </summary>
    /// <param name="diffusersVersion">Written as "_diffusers_version" (diffusers only warns on it); the version the reference fixtures were checked with.</param>
    public static DiffusersFolder Save(string folder, string pipelineClassName, IEnumerable<PipelineComponent> components,
        string diffusersVersion = "0.24.0")
    {
        var list = components.ToList();
        var duplicate = list.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new ArgumentException($"Component \"{duplicate.Key}\" is given twice");
        Directory.CreateDirectory(folder);

        foreach (var component in list)
        {
            if (component.Name.Length == 0 || component.Name.StartsWith('_') || component.Name.IndexOfAny(['/', '\\', '.']) >= 0)
                throw new ArgumentException($"\"{component.Name}\" cannot name a component folder");
            var componentFolder = Path.Combine(folder, component.Name);
            Directory.CreateDirectory(componentFolder);
            if (component.CopyFilesFrom != null)
            {
                if (!Directory.Exists(component.CopyFilesFrom))
                    throw new WeightFileException($"Folder to copy for \"{component.Name}\" not found: {component.CopyFilesFrom}");
                foreach (var file in Directory.EnumerateFiles(component.CopyFilesFrom))
                    File.Copy(file, Path.Combine(componentFolder, Path.GetFileName(file)), overwrite: true);
            }

            var configName = component.ConfigFileName ??
                             (component.Name == "scheduler" ? SchedulerConfigFileName : ComponentWeights.ConfigFileName);
            if (component.Module != null)
            {
                if (component.ConfigJson == null)
                    throw new ArgumentException($"Component \"{component.Name}\" has a module but no config");
                if (configName != ComponentWeights.ConfigFileName)
                    throw new ArgumentException($"Component \"{component.Name}\": a model's config must be {ComponentWeights.ConfigFileName}");
                var options = component.SaveOptions ?? SaveOptions.Default;
                if (options.WeightsName == null && component.Library == "transformers")
                    options = options with { WeightsName = WeightFiles.TransformersWeightsName };
                ComponentWeights.Save(componentFolder, component.ConfigJson, component.Module, options);
            }
            else if (component.ConfigJson != null)
            {
                File.WriteAllText(Path.Combine(componentFolder, configName), component.ConfigJson);
            }
        }

        var index = new JsonObject
        {
            ["_class_name"] = pipelineClassName,
            ["_diffusers_version"] = diffusersVersion,
        };
        foreach (var component in list.OrderBy(c => c.Name, StringComparer.Ordinal))
            index[component.Name] = new JsonArray(component.Library, component.ClassName);
        File.WriteAllText(Path.Combine(folder, ModelIndexFileName),
            index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return Open(folder);
    }

    string? StringProperty(string name) =>
        ModelIndex.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static string? NullableString(string path, string component, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        _ => throw new WeightFileException($"{path}: component \"{component}\" has a non-string entry {value.GetRawText()}"),
    };
}
