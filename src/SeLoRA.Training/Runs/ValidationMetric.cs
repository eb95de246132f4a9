namespace SeLoRA.Training.Runs;

/// <summary>One validation: the mean loss over the validation images with fixed noise and timesteps, after <paramref name="Step"/>.</summary>
/// <param name="Best">Whether this loss was the lowest so far (its adapters became the best checkpoint).</param>
public sealed record ValidationMetric(long Step, int Epoch, double Loss, bool Best, double WallSeconds);
