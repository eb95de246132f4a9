using SeLoRA.Evaluation.ClipScore;

namespace SeLoRA.Evaluation.Clip;

/// <summary>A CLIP score over image-prompt pairs, and which prompts had to be truncated to fit the text tower.</summary>
/// <param name="Result">torchmetrics' CLIPScore (mean of 100 cos, clamped at 0) and the per-pair values.</param>
/// <param name="TruncatedPromptIndices">Indices (into the prompts scored) of prompts longer than max_position_embeddings.</param>
public sealed record ClipScorerResult(ClipScoreResult Result, IReadOnlyList<int> TruncatedPromptIndices)
{
    public double Score => Result.Score;

    public int TruncatedPrompts => TruncatedPromptIndices.Count;
}
