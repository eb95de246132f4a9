using System.Text.Json;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Inspection;

/// <summary>
/// The text encoder and U-Net of a diffusers folder or a preset, built from their config.json on the meta device: every
/// module name and shape, no memory and no weights read. For planning adapters and printing architectures.
/// </summary>
public sealed class ModelSkeleton : IDisposable
{
    public ClipTextModel TextEncoder { get; }
    public Unet2DConditionModel Unet { get; }

    ModelSkeleton(ClipTextModel textEncoder, Unet2DConditionModel unet)
    {
        TextEncoder = textEncoder;
        Unet = unet;
    }

    public static ModelSkeleton Build(string folderOrPreset)
    {
        TorchRuntime.EnsureLoaded();
        JsonElement textConfig, unetConfig;
        if (ModelPresets.IsPreset(folderOrPreset) && !Directory.Exists(folderOrPreset))
        {
            textConfig = ModelPresets.ConfigElement(folderOrPreset, "text_encoder");
            unetConfig = ModelPresets.ConfigElement(folderOrPreset, "unet");
        }
        else
        {
            var folder = DiffusersFolder.Open(folderOrPreset);
            textConfig = folder.ReadConfig("text_encoder").Root;
            unetConfig = folder.ReadConfig("unet").Root;
        }
        var meta = new Device(DeviceType.META);
        var unet = new Unet2DConditionModel(Unet2DConditionConfig.FromJson(unetConfig, $"{folderOrPreset}/unet/config.json"), meta);
        var text = new ClipTextModel(ClipTextConfig.FromJson(textConfig, $"{folderOrPreset}/text_encoder/config.json"));
        text.to(meta);
        return new ModelSkeleton(text, unet);
    }

    public void Dispose()
    {
        TextEncoder.Dispose();
        Unet.Dispose();
    }
}
