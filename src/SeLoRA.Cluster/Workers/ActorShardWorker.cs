using Akka.Actor;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;

namespace SeLoRA.Cluster.Workers;

/// <summary>A <see cref="DeviceWorker"/> as the data-parallel step sees it; every wait has a timeout naming the worker and the phase.</summary>
/// <remarks>
/// A worker in this process gets and returns float[] buffers inside the messages (no serialisation); a worker on another
/// node exchanges them through the tensor data channel (<paramref name="transport"/>), and the messages carry transfer ids.
/// </remarks>
public sealed class ActorShardWorker(IActorRef worker, TimeSpan timeout, SeLoRA.Cluster.Transport.TensorTransport? transport = null) : IShardWorker
{
    public IActorRef Worker { get; } = worker;

    public string Name => Worker.Path.ToString();

    /// <summary>Whether the worker lives on another node (its buffers then go through the tensor channel).</summary>
    public bool IsRemote => transport is not null && Worker.Path.Address.HasGlobalScope && !Worker.Path.Address.Equals(transport.LocalAddress);

    public async Task<ShardGradients> ComputeShardAsync(IReadOnlyList<int> datasetIndices, long step, CancellationToken cancellation)
    {
        var transfer = IsRemote ? Guid.NewGuid() : (Guid?)null;
        var r = await Ask<ShardComputed>(new ComputeShard(step, datasetIndices.ToArray(), transfer), $"the gradients of step {step}", cancellation);
        return new ShardGradients(r.Loss, await Payload(r.Gradients, transfer, $"the gradients of step {step}", cancellation));
    }

    public async Task<AppliedGradients> ApplyReducedAsync(float[] reducedGradients, long step, CancellationToken cancellation)
    {
        ApplyReduced message;
        if (IsRemote)
        {
            var id = Guid.NewGuid();
            await transport!.SendAsync(Worker.Path.Address, id, reducedGradients, cancellation);
            message = new ApplyReduced(step, [], id);
        }
        else message = new ApplyReduced(step, reducedGradients);
        var r = await Ask<ReducedApplied>(message, $"applying the reduced gradients of step {step}", cancellation);
        return new AppliedGradients(r.OriginalScores, r.Layers, r.Changes);
    }

    public async Task<float[]> ComputeTrialAsync(long step, IReadOnlyList<int>? datasetIndices, CancellationToken cancellation)
    {
        var transfer = IsRemote ? Guid.NewGuid() : (Guid?)null;
        var r = await Ask<TrialComputed>(new ComputeTrial(step, transfer, datasetIndices?.ToArray()), $"the trial gradients of step {step}", cancellation);
        return await Payload(r.Trial, transfer, $"the trial gradients of step {step}", cancellation);
    }

    async Task<float[]> Payload(float[] inline, Guid? transfer, string what, CancellationToken cancellation)
    {
        if (transfer is not { } id) return inline;
        try
        {
            return await transport!.ReceiveAsync(id, timeout, Worker.Path.Address, cancellation);
        }
        catch (Exception e) when (e is SeLoRA.Cluster.Transport.TensorTransferException or TimeoutException)
        {
            throw new WorkerLostException(Name, $"{Name}: {what} did not arrive through the tensor channel: {e.Message}");
        }
    }

    public async Task<IReadOnlyList<RankChange>> ApplyDecisionsAsync(IReadOnlyList<ExpansionDecision> decisions, long step, CancellationToken cancellation) =>
        (await Ask<DecisionsApplied>(new ApplyDecisions(step, decisions.ToArray()), $"the expansions of step {step}", cancellation)).Changes;

    public async Task<string> FingerprintAsync(CancellationToken cancellation) =>
        (await Ask<FingerprintReported>(new GetFingerprint(), "its fingerprint", cancellation)).Fingerprint;

    public async Task<IReadOnlyList<string>> FingerprintDetailsAsync(CancellationToken cancellation) =>
        (await Ask<FingerprintDetailsReported>(new GetFingerprintDetails(), "its per-tensor fingerprints", cancellation)).Entries;

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
