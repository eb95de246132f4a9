namespace SeLoRA.Training.Runs;

/// <summary>One prompt of a comparison grid: the test image it came from (if any) and the image the model generated for it.</summary>
public sealed record GridItem(string Prompt, string? RealImagePath, string GeneratedImagePath);
