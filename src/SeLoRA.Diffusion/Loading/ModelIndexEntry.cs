namespace SeLoRA.Diffusion.Loading;

/// <summary>One component line of model_index.json: <c>"unet": ["diffusers", "UNet2DConditionModel"]</c>. Both are null for
/// components a pipeline leaves out (<c>[null, null]</c>, e.g. a removed safety checker).</summary>
public sealed record ModelIndexEntry(string? Library, string? ClassName);
