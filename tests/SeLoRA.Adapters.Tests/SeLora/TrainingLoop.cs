using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.SeLora;

/// <summary>The training step a trainer runs with SeLoRA, on a <see cref="ParallelLinears"/> regression.</summary>
static class TrainingLoop
{
    /// <summary>
    /// Runs steps first..last. <paramref name="batch"/> gives (x, target [layers, batch, out]) for a step; the loop
    /// disposes them. Returns the expansion tests' results.
    /// </summary>
    public static List<ExpansionTestResult> Run(ParallelLinears model, SeLoraController? controller, AdamOptimizer adam,
                                                Func<long, (Tensor X, Tensor Target)> batch, long first, long last)
    {
        var results = new List<ExpansionTestResult>();
        for (var step = first; step <= last; step++)
        {
            var (x, target) = batch(step);
            controller?.BeginStep(step);
            using (var scope = NewDisposeScope())
                ParallelLinears.LossPerLayer(model.call(x), target).sum().backward();
            controller?.RecordOriginalScores(step);
            adam.Step();
            if (controller is not null && controller.IsTestStep(step))
            {
                results.Add(controller.RunTest(step, () =>
                {
                    using var scope = NewDisposeScope();
                    ParallelLinears.LossPerLayer(model.call(x), target).sum().backward();
                }));
            }
            adam.ZeroGrad();
            x.Dispose();
            target.Dispose();
        }
        return results;
    }
}
