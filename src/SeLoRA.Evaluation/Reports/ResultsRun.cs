namespace SeLoRA.Evaluation.Reports;

/// <summary>A run folder and the evaluation report `selora results` tabulates for it.</summary>
public sealed record ResultsRun(string RunDirectory, EvaluationReport Report)
{
    /// <summary>Resolves a sample's generated image (stored relative to the run folder).</summary>
    public string GeneratedImagePath(EvaluationSample sample) =>
        Path.IsPathRooted(sample.GeneratedImage) ? sample.GeneratedImage : Path.Combine(RunDirectory, sample.GeneratedImage);

    /// <summary>Resolves a sample's real image (stored absolute; a relative one is taken relative to the run folder).</summary>
    public string RealImagePath(EvaluationSample sample) =>
        Path.IsPathRooted(sample.RealImage) ? sample.RealImage : Path.Combine(RunDirectory, sample.RealImage);
}
