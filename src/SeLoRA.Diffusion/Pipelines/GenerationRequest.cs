namespace SeLoRA.Diffusion.Pipelines;

/// <summary>
/// What to generate. Defaults follow the SeLoRA paper's inference (50 PNDM steps, guidance 7.5); the empty prompt is
/// the unconditional input unless a negative prompt is given.
/// </summary>
public sealed record GenerationRequest
{
    public required IReadOnlyList<string> Prompts { get; init; }
    public string NegativePrompt { get; init; } = "";
    public int Steps { get; init; } = 50;
    public double Guidance { get; init; } = 7.5;
    public long Seed { get; init; }
    public int Height { get; init; } = 512;
    public int Width { get; init; } = 512;
    /// <summary>Images denoised together; the result does not depend on it, only speed and memory do.</summary>
    public int BatchSize { get; init; } = 1;
    public int ImagesPerPrompt { get; init; } = 1;
    /// <summary>pndm or ddim.</summary>
    public string Scheduler { get; init; } = "pndm";

    /// <summary>Checks the request against a model's latent downsampling factor; errors name the field.</summary>
    public void Validate(int downsampleFactor)
    {
        if (Prompts.Count == 0) throw new ArgumentException("prompts: give at least one prompt.");
        if (Steps < 1) throw new ArgumentException($"steps: must be at least 1, got {Steps}.");
        if (Guidance < 0 || double.IsNaN(Guidance)) throw new ArgumentException($"guidance: must be 0 or more, got {Guidance}.");
        if (BatchSize < 1) throw new ArgumentException($"batch: must be at least 1, got {BatchSize}.");
        if (ImagesPerPrompt < 1) throw new ArgumentException($"images per prompt: must be at least 1, got {ImagesPerPrompt}.");
        foreach (var (name, value) in new[] { ("height", Height), ("width", Width) })
            if (value < downsampleFactor || value % downsampleFactor != 0)
                throw new ArgumentException($"{name}: must be a positive multiple of {downsampleFactor} (the VAE's downsampling), got {value}.");
    }
}
