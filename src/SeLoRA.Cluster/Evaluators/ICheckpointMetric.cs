namespace SeLoRA.Cluster.Evaluators;

/// <summary>
/// One metric of a checkpoint evaluation. Instances hold their networks (a feature network, CLIP, the finding
/// classifier) across evaluations, so an evaluator loads each once.
/// </summary>
public interface ICheckpointMetric : IDisposable
{
    string Name { get; }

    /// <summary>Adds its value(s) to <paramref name="metrics"/> and a line saying how they were measured to <paramref name="details"/>.</summary>
    void Measure(MetricInputs inputs, IDictionary<string, double> metrics, IDictionary<string, string> details, CancellationToken cancellation);
}
