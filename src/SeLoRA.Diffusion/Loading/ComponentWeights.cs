using SeLoRA.Torch.Safetensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>Weights and config of one component folder (unet/, vae/, text_encoder/ ...), with or without a model_index.json above it.</summary>
public static class ComponentWeights
{
    public const string ConfigFileName = "config.json";

    /// <summary>
    /// Finds and loads the folder's weights (variant from the options) onto the CPU; floating tensors are converted as
    /// <see cref="LoadOptions.FloatStorage"/> says (Convert: to <see cref="LoadOptions.FloatDType"/>). The caller disposes the tensors.
    /// </summary>
    public static Dictionary<string, Tensor> LoadStateDict(string componentFolder, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        var source = WeightFiles.Find(componentFolder, options.Variant);
        var tensors = source.Load();
        if (options.DictionaryFloatDType is { } dtype) ConvertFloats(tensors, dtype);
        return tensors;
    }

    /// <summary>Loads the folder's weights into <paramref name="module"/> (see <see cref="StateDictLoader.Load"/>) and frees the file's tensors.</summary>
    public static LoadReport LoadInto(string componentFolder, nn.Module module, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        var source = WeightFiles.Find(componentFolder, options.Variant);
        var tensors = source.Load();
        try
        {
            // No dictionary conversion: copy_ converts into the module's dtype, and KeepStored/FrozenBFloat16 need the stored dtype.
            return StateDictLoader.Load(module, tensors, options, source.Path);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The folder's config.json.</summary>
    public static ComponentConfig ReadConfig(string componentFolder) => ComponentConfig.Read(Path.Combine(componentFolder, ConfigFileName));

    /// <summary>
    /// Writes <paramref name="configJson"/> as config.json and the module's state_dict() (persistent entries only) as
    /// safetensors in <paramref name="componentFolder"/>. Returns the weights path (the index when sharded).
    /// </summary>
    public static string Save(string componentFolder, string configJson, nn.Module module, SaveOptions? options = null)
    {
        JsonNode? config;
        try
        {
            config = JsonNode.Parse(configJson);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The config for {componentFolder} is not valid JSON: {e.Message}", nameof(configJson), e);
        }
        if (config is not JsonObject configObject)
            throw new ArgumentException($"The config for {componentFolder} is not a JSON object", nameof(configJson));

        Directory.CreateDirectory(componentFolder);
        File.WriteAllText(Path.Combine(componentFolder, ConfigFileName), configJson);
        return SaveWeights(componentFolder, module, options, DefaultWeightsName(configObject));
    }

    /// <summary>As <see cref="Save(string, string, nn.Module, SaveOptions?)"/>, with the config as a JSON node (written indented).</summary>
    public static string Save(string componentFolder, JsonNode config, nn.Module module, SaveOptions? options = null) =>
        Save(componentFolder, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", module, options);

    /// <summary>Writes only the weights. <paramref name="weightsName"/> is used when the options do not name the file.</summary>
    public static string SaveWeights(string componentFolder, nn.Module module, SaveOptions? options = null,
        string weightsName = WeightFiles.DiffusersWeightsName)
    {
        options ??= SaveOptions.Default;
        TorchRuntime.EnsureLoaded();
        var name = options.WeightsName ?? weightsName;
        var state = module.state_dict();
        var converted = new List<Tensor>();
        try
        {
            var toWrite = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, tensor) in state)
            {
                if (options.FloatDType is { } dtype && SafetensorsDType.IsFloating(tensor.dtype) && tensor.dtype != dtype)
                {
                    var t = tensor.detach().to(dtype);
                    converted.Add(t);
                    toWrite[key] = t;
                }
                else
                {
                    toWrite[key] = tensor;
                }
            }

            Directory.CreateDirectory(componentFolder);
            if (options.MaxShardBytes is { } maxBytes)
                return ShardedSafetensors.Save(componentFolder, name, toWrite, maxBytes, options.Variant);
            var variant = string.IsNullOrEmpty(options.Variant) ? "" : "." + options.Variant;
            var path = Path.Combine(componentFolder, $"{name}{variant}.safetensors");
            SafetensorsFile.Save(path, toWrite);
            return path;
        }
        finally
        {
            foreach (var t in converted) t.Dispose();
        }
    }

    /// <summary>transformers configs carry "architectures" or "transformers_version"; their weights are model.safetensors.</summary>
    public static string DefaultWeightsName(JsonObject config) =>
        config.ContainsKey("architectures") || config.ContainsKey("transformers_version")
            ? WeightFiles.TransformersWeightsName
            : WeightFiles.DiffusersWeightsName;

    /// <summary>Converts the floating tensors of a dictionary to <paramref name="dtype"/>, disposing the originals.</summary>
    public static void ConvertFloats(IDictionary<string, Tensor> tensors, ScalarType dtype)
    {
        foreach (var key in tensors.Keys.ToList())
        {
            var t = tensors[key];
            if (!SafetensorsDType.IsFloating(t.dtype) || t.dtype == dtype) continue;
            tensors[key] = t.to(dtype);
            t.Dispose();
        }
    }
}
