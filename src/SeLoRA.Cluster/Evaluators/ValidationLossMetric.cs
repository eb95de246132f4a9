namespace SeLoRA.Cluster.Evaluators;

/// <summary>The validation loss training measured when it saved the checkpoint (the paper's selection criterion).</summary>
public sealed class ValidationLossMetric : ICheckpointMetric
{
    public string Name => MetricNames.ValidationLoss;

    public void Measure(MetricInputs inputs, IDictionary<string, double> metrics, IDictionary<string, string> details, CancellationToken cancellation)
    {
        if (inputs.Checkpoint.ValidationLoss is not { } loss) return; // a checkpoint saved without a validation (pause, interval)
        metrics[Name] = loss;
        details[Name] = $"epsilon-MSE on the validation split, measured by training at step {inputs.Checkpoint.Step}";
    }

    public void Dispose() { }
}
