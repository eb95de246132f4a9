namespace SeLoRA.Training.Runs;

/// <summary>One line of metrics.jsonl: a training step's loss, learning rate and total rank, and the wall time so far.</summary>
/// <param name="WallSeconds">Seconds of training since the run first started (resumes continue the count).</param>
public sealed record StepMetric(long Step, int Epoch, double Loss, double LearningRate, int TotalRank, double WallSeconds);
