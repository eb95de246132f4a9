using Akka.Actor;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;

namespace SeLoRA.Cluster.Workers;

/// <summary>A <see cref="DeviceWorker"/> as the data-parallel step sees it; every wait has a timeout naming the worker and the phase.</summary>
public sealed class ActorShardWorker(IActorRef worker, TimeSpan timeout) : IShardWorker
{
    public IActorRef Worker { get; } = worker;

    public string Name => Worker.Path.ToString();

    public async Task<ShardGradients> ComputeShardAsync(IReadOnlyList<int> datasetIndices, long step, CancellationToken cancellation)
    {
        var r = await Ask<ShardComputed>(new ComputeShard(step, datasetIndices.ToArray()), $"the gradients of step {step}", cancellation);
        return new ShardGradients(r.Loss, r.Gradients);
    }

    public async Task<AppliedGradients> ApplyReducedAsync(float[] reducedGradients, long step, CancellationToken cancellation)
    {
        var r = await Ask<ReducedApplied>(new ApplyReduced(step, reducedGradients), $"applying the reduced gradients of step {step}", cancellation);
        return new AppliedGradients(r.OriginalScores, r.Layers, r.Changes);
    }

    public async Task<float[]> ComputeTrialAsync(long step, CancellationToken cancellation) =>
        (await Ask<TrialComputed>(new ComputeTrial(step), $"the trial gradients of step {step}", cancellation)).Trial;

    public async Task<IReadOnlyList<RankChange>> ApplyDecisionsAsync(IReadOnlyList<ExpansionDecision> decisions, long step, CancellationToken cancellation) =>
        (await Ask<DecisionsApplied>(new ApplyDecisions(step, decisions.ToArray()), $"the expansions of step {step}", cancellation)).Changes;

    public async Task<string> FingerprintAsync(CancellationToken cancellation) =>
        (await Ask<FingerprintReported>(new GetFingerprint(), "its fingerprint", cancellation)).Fingerprint;

    public async Task<T> Ask<T>(object message, string what, CancellationToken cancellation, TimeSpan? wait = null)
    {
        var limit = wait ?? timeout;
        object answer;
        try
        {
            answer = await Worker.Ask(message, limit, cancellation);
        }
        catch (AskTimeoutException)
        {
            throw new WorkerLostException(Name, $"{Name} did not answer with {what} within {limit.TotalSeconds:F0} s.");
        }
        return answer switch
        {
            T reply => reply,
            WorkerFailed failed => throw new WorkerLostException(Name, $"{failed.Worker} failed on {what}: {failed.Reason}"),
            _ => throw new InvalidOperationException($"{Name} answered {what} with an unexpected {answer.GetType().Name}."),
        };
    }
}
