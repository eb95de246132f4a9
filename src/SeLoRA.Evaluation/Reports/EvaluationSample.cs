namespace SeLoRA.Evaluation.Reports;

/// <summary>One generated image of an evaluation: its prompt, the dataset image that prompt came from, and the file.</summary>
/// <param name="Id">The dataset example's id.</param>
/// <param name="RealImage">Absolute path of the real image.</param>
/// <param name="GeneratedImage">Path of the generated image, relative to the run folder.</param>
public sealed record EvaluationSample(string Id, string Prompt, string RealImage, string GeneratedImage);
