using static TorchSharp.torch;

namespace SeLoRA.Adapters.Optimization;

/// <summary>
/// Adam's state of one parameter, as exported for checkpoints: the step count and the two moments (float32, the
/// parameter's shape). A parameter that has not been stepped yet has step 0 and null moments.
/// </summary>
public sealed record AdamParameterState(long Step, Tensor? ExpAvg, Tensor? ExpAvgSq) : IDisposable
{
    public void Dispose()
    {
        ExpAvg?.Dispose();
        ExpAvgSq?.Dispose();
    }
}
