namespace SeLoRA.Evaluation.ClipScore;

/// <summary>A CLIP score and the per-pair values it averages.</summary>
/// <param name="Score">max(mean(PerSample), 0), torchmetrics' CLIPScore.</param>
/// <param name="PerSample">100 * cosine(image, text) per pair, not clamped (torchmetrics clamps the mean only).</param>
public sealed record ClipScoreResult(double Score, double[] PerSample)
{
    /// <summary>Number of image-text pairs.</summary>
    public int Count => PerSample.Length;
}
