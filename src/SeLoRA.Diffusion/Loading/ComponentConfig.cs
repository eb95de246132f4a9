using SeLoRA.Torch.Safetensors;
using System.Text.Json;

namespace SeLoRA.Diffusion.Loading;

/// <summary>A component's config file, parsed; <see cref="Path"/> is for error messages. <see cref="Root"/> needs no disposal.</summary>
public sealed record ComponentConfig(string Path, JsonElement Root)
{
    /// <summary>Parses a config file, failing with the path when it is absent or not a JSON object.</summary>
    public static ComponentConfig Read(string path)
    {
        if (!File.Exists(path)) throw new WeightFileException($"Config file not found: {path}");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new WeightFileException($"{path}: the config is not a JSON object");
            return new ComponentConfig(path, document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new WeightFileException($"{path}: not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>diffusers' "_class_name", or the first of transformers' "architectures"; null when neither is there.</summary>
    public string? ClassName =>
        Root.TryGetProperty("_class_name", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()
        : Root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 &&
          a[0].ValueKind == JsonValueKind.String ? a[0].GetString()
        : null;
}
