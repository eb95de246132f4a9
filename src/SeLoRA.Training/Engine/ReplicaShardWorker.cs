using SeLoRA.Adapters.SeLora;
using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Engine;

/// <summary>A <see cref="TrainingReplica"/> in this thread as an <see cref="IShardWorker"/> (the calls complete synchronously).</summary>
public sealed class ReplicaShardWorker(string name, TrainingReplica replica) : IShardWorker
{
    public string Name { get; } = name;

    public TrainingReplica Replica { get; } = replica;

    public Task<ShardGradients> ComputeShardAsync(IReadOnlyList<int> datasetIndices, long step, CancellationToken cancellation)
    {
        var (loss, gradients) = Replica.ComputeShard(datasetIndices, step);
        return Task.FromResult(new ShardGradients(loss, gradients));
    }

    public Task<AppliedGradients> ApplyReducedAsync(float[] reducedGradients, long step, CancellationToken cancellation)
    {
        var (original, changes) = Replica.ApplyReduced(reducedGradients, step);
        return Task.FromResult(new AppliedGradients(original, original is null ? null : Replica.Controller!.LayerStates(), changes));
    }

    public Task<float[]> ComputeTrialAsync(long step, IReadOnlyList<int>? datasetIndices, CancellationToken cancellation) =>
        Task.FromResult(Replica.ComputeTrialShard(step, datasetIndices));

    public Task<IReadOnlyList<RankChange>> ApplyDecisionsAsync(IReadOnlyList<ExpansionDecision> decisions, long step, CancellationToken cancellation) =>
        Task.FromResult(Replica.ApplyDecisions(decisions, step));

    public Task<string> FingerprintAsync(CancellationToken cancellation) => Task.FromResult(Replica.Fingerprint());

    public Task<IReadOnlyList<string>> FingerprintDetailsAsync(CancellationToken cancellation) => Task.FromResult(Replica.FingerprintDetails());
}
