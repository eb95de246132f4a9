using SeLoRA.Adapters.SeLora;

namespace SeLoRA.Training.Steps;

/// <summary>
/// One data-parallel step over in-process replicas (one <see cref="TrainStep"/> per worker, each holding its own model
/// copy), reducing flat buffers in worker order: the reference the actor-based workers must reproduce, and a way to check
/// that W workers equal one.
/// </summary>
public static class ReplicatedStep
{
    /// <summary>
    /// Gradients per shard, summed in worker order and imported by every replica; FI_orig from the reduced gradient; the
    /// optimizer step; on a SeLoRA test step the faithful trial per shard, trial buffers summed in worker order, one
    /// decision made from the sums and applied on every replica. The loss is the sum of the shard losses in worker order.
    /// </summary>
    public static StepResult Run(IReadOnlyList<TrainStep> replicas, IReadOnlyList<StepBatch> shards, long step)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(shards);
        if (replicas.Count == 0 || replicas.Count != shards.Count)
            throw new ArgumentException($"Need one shard per replica: {replicas.Count} replicas, {shards.Count} shards.");
        var controllers = replicas.Select(r => r.Controller).ToList();
        if (controllers.Any(c => c is null) && controllers.Any(c => c is not null))
            throw new ArgumentException("Either every replica has a SeLoRA controller or none has.");
        if (controllers[0] is { Config.FastTest: true })
            throw new NotSupportedException("The fast SeLoRA test is not supported across replicas yet (its probe gradients are not reduced).");

        foreach (var replica in replicas) replica.BeginStep(step);
        double loss = 0;
        var buffers = new List<float[]>(replicas.Count);
        for (var r = 0; r < replicas.Count; r++)
        {
            loss += replicas[r].ComputeGradients(shards[r], step);
            buffers.Add(replicas[r].ExportGradients());
        }
        var reduced = GradientBuffer.Sum(buffers);
        foreach (var replica in replicas) replica.ImportGradients(reduced);

        var controller = controllers[0];
        var testing = controller is not null && controller.IsTestStep(step);
        var original = testing ? controller!.OriginalScores() : null;
        IReadOnlyList<SeLoRA.Training.Runs.RankChange> changes = [];
        foreach (var replica in replicas) changes = replica.Apply(step);
        if (!testing) return new StepResult(step, loss, null, changes);

        var trialBuffers = new List<float[]>(replicas.Count);
        for (var r = 0; r < replicas.Count; r++)
        {
            var c = controllers[r]!;
            c.EnterTrial();
            try
            {
                replicas[r].ComputeTrialGradients(shards[r], step);
                trialBuffers.Add(replicas[r].ExportTrialGradients());
            }
            finally
            {
                c.ExitTrial();
            }
        }
        var trial = replicas[0].TrialScoresFrom(GradientBuffer.Sum(trialBuffers));
        var decisions = controller!.Decide(original!, trial);
        foreach (var c in controllers) c!.Apply(decisions);
        return new StepResult(step, loss, new ExpansionTestResult(step, decisions));
    }
}
