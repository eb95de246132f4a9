namespace SeLoRA.Cluster.Evaluators;

/// <summary>One checkpoint to evaluate on one split.</summary>
/// <param name="RunDirectory">The run folder (config.json, split.json, checkpoints/).</param>
/// <param name="CheckpointDirectory">The checkpoint folder (state.json, adapters.safetensors).</param>
/// <param name="Split">"valid" or "test".</param>
/// <param name="Final">The final test evaluation of the run's best checkpoint.</param>
public sealed record EvaluationTarget(string RunDirectory, string CheckpointDirectory, string Split, bool Final = false);
