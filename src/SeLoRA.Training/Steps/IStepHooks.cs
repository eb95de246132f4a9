using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Training.Steps;

/// <summary>
/// What an adapter method adds to a step besides SeLoRA's test (which <see cref="TrainStep"/> drives through its
/// controller): DyLoRA's per-step rank, AdaLoRA's orthogonal regulariser and its rank allocator.
/// </summary>
public interface IStepHooks
{
    /// <summary>Before the first forward of <paramref name="step"/>.</summary>
    void BeginStep(long step);

    /// <summary>A whole-step term added to the loss (null: none); each shard adds its share (shard size / global batch).</summary>
    Tensor? Regularizer();

    /// <summary>After the optimizer step, while the (reduced) gradients are still there; returns the layers whose rank changed.</summary>
    IReadOnlyList<RankChange> AfterOptimizerStep(long step);
}
