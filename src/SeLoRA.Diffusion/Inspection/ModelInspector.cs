using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Models.Vae;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Inspection;

/// <summary>One tensor as a checkpoint holds it.</summary>
public sealed record TensorInfo(string Name, long[] Shape, string DType)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>"name&lt;TAB&gt;d0,d1,..." as in the reference key lists.</summary>
    public string Line => $"{Name}\t{string.Join(",", Shape)}";
}

/// <summary>A model component: what it is, where it came from, and its tensors sorted by name (bytewise).</summary>
public sealed record ComponentSummary(string Name, string ClassName, string Source, IReadOnlyList<TensorInfo> Tensors)
{
    /// <summary>Elements of floating-point tensors: the parameters (integer buffers such as position_ids are not).</summary>
    public long Parameters => Tensors.Where(t => SafetensorsDType.ToScalarType(t.DType) is { } type && SafetensorsDType.IsFloating(type)).Sum(t => t.Elements);

    public IReadOnlyList<string> DTypes => Tensors.Select(t => t.DType).Distinct().Order(StringComparer.Ordinal).ToList();
}

/// <summary>
/// Describes a diffusers folder from its safetensors headers (no tensor data is read), or a preset architecture
/// built on the meta device (no memory), with the state-dict names and shapes a checkpoint of it holds.
/// </summary>
public static class ModelInspector
{
    public static readonly string[] ModelComponents = ["unet", "text_encoder", "vae"];

    public static IReadOnlyList<ComponentSummary> Inspect(string folderOrPreset) =>
        ModelPresets.IsPreset(folderOrPreset) && !Directory.Exists(folderOrPreset)
            ? InspectPreset(folderOrPreset)
            : InspectFolder(folderOrPreset);

    public static IReadOnlyList<ComponentSummary> InspectFolder(string folder)
    {
        var pipeline = DiffusersFolder.Open(folder);
        var result = new List<ComponentSummary>();
        foreach (var (name, entry) in pipeline.Components.OrderBy(c => Array.IndexOf(ModelComponents, c.Key) is var i && i < 0 ? 99 : i))
        {
            if (!ModelComponents.Contains(name) && !HasWeights(pipeline, name)) continue;
            var source = pipeline.FindWeights(name);
            var tensors = source.IsShardIndex
                ? ShardedSafetensors.ReadWeightMap(source.Path).Values.Distinct()
                    .SelectMany(shard => Headers(Path.Combine(Path.GetDirectoryName(source.Path)!, shard)))
                : Headers(source.Path);
            result.Add(new ComponentSummary(name, entry.ClassName ?? "?", source.Path, Sorted(tensors)));
        }
        return result;
    }

    public static IReadOnlyList<ComponentSummary> InspectPreset(string preset)
    {
        TorchRuntime.EnsureLoaded();
        var meta = new Device(DeviceType.META);
        var result = new List<ComponentSummary>();
        using (var unet = new Unet2DConditionModel(Unet2DConditionConfig.FromJson(ModelPresets.ConfigElement(preset, "unet"), $"{preset}/unet"), meta))
            result.Add(FromModule("unet", "UNet2DConditionModel", preset, unet));
        using (var text = new ClipTextModel(ClipTextConfig.FromJson(ModelPresets.ConfigElement(preset, "text_encoder"), $"{preset}/text_encoder")))
        {
            text.to(meta);
            // Checkpoints written by transformers of SD1.5's time store the position_ids buffer too.
            var maxPositions = text.Config.MaxPositionEmbeddings;
            result.Add(FromModule("text_encoder", "CLIPTextModel", preset, text,
                new TensorInfo(ClipTextModel.PositionIdsKey, [1, maxPositions], "I64")));
        }
        using (var vae = new AutoencoderKl(AutoencoderKlConfig.FromJson(ModelPresets.ConfigElement(preset, "vae"), $"{preset}/vae"), meta))
            result.Add(FromModule("vae", "AutoencoderKL", preset, vae));
        return result;
    }

    static ComponentSummary FromModule(string name, string className, string preset, nn.Module module, params TensorInfo[] extra) =>
        new(name, className, $"preset {preset}", Sorted(module.state_dict()
            .Select(kv => new TensorInfo(kv.Key, kv.Value.shape, SafetensorsDType.ToName(kv.Value.dtype))).Concat(extra)));

    static bool HasWeights(DiffusersFolder pipeline, string name)
    {
        try
        {
            pipeline.FindWeights(name);
            return true;
        }
        catch (WeightFileException)
        {
            return false;
        }
    }

    static IEnumerable<TensorInfo> Headers(string path) =>
        SafetensorsFile.ReadHeader(path).Entries.Select(e => new TensorInfo(e.Name, e.Shape, e.DTypeName));

    static List<TensorInfo> Sorted(IEnumerable<TensorInfo> tensors) => tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
}
