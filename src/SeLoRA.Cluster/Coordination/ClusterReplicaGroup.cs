using Akka.Actor;
using SeLoRA.Adapters.Reporting;
using SeLoRA.Cluster.Workers;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Steps;

namespace SeLoRA.Cluster.Coordination;

/// <summary>
/// The run's replicas as device workers: each step goes through <see cref="DataParallelStep"/> over the live workers. A
/// worker that fails or stops answering mid-step is dropped and the same global batch is re-run over the others; since
/// every replica is identical after each step, nothing needs reloading. Validation and checkpoint files come from the
/// first worker.
/// </summary>
public sealed class ClusterReplicaGroup : IReplicaGroup
{
    readonly List<ActorShardWorker> workers;
    readonly TrainingConfig config;
    readonly Action<string> log;
    readonly TimeSpan stepTimeout;

    ClusterReplicaGroup(TrainingConfig config, List<ActorShardWorker> workers, TimeSpan stepTimeout, Action<string> log)
    {
        this.config = config;
        this.workers = workers;
        this.stepTimeout = stepTimeout;
        this.log = log;
    }

    public IReadOnlyList<string> WorkerNames => workers.Select(w => w.Name).ToList();

    /// <summary>
    /// A factory for <see cref="RunOptions.Replicas"/>: prepares a replica on every worker (in parallel), checks that they
    /// start identical, and drops workers that fail to prepare (at least one must succeed).
    /// </summary>
    public static Func<ReplicaGroupContext, IReplicaGroup> Factory(IReadOnlyList<IActorRef> workers, string latentCacheRoot,
        TimeSpan prepareTimeout, TimeSpan stepTimeout, Action<string>? log = null, SeLoRA.Cluster.Transport.TensorTransport? transport = null) => context =>
    {
        log ??= _ => { };
        if (workers.Count == 0) throw new InvalidOperationException($"run {context.Config.Name}: no device worker is available.");
        var message = new PrepareReplica(context.Config.Name, context.Config.ToJson(), context.Layout.Directory, latentCacheRoot,
            context.CheckpointDirectory, context.TotalSteps);
        // Workers of this process first (stable otherwise): validation and checkpoint files come from the first one,
        // which must write into this node's run folder.
        var proxies = workers.Select(w => new ActorShardWorker(w, stepTimeout, transport)).OrderBy(p => p.IsRemote).ToList();
        var prepared = proxies.Select(p => Prepare(p, message, prepareTimeout)).ToList();
        Task.WhenAll(prepared).ContinueWith(_ => { }).Wait();
        var ready = new List<ActorShardWorker>();
        for (var i = 0; i < proxies.Count; i++)
        {
            if (prepared[i].IsCompletedSuccessfully) ready.Add(proxies[i]);
            else log($"worker {proxies[i].Name} left out: {prepared[i].Exception?.GetBaseException().Message}");
        }
        if (ready.Count == 0)
            throw new InvalidOperationException($"run {context.Config.Name}: no worker could prepare a replica ({prepared[0].Exception?.GetBaseException().Message}).");
        var group = new ClusterReplicaGroup(context.Config, ready, stepTimeout, log);
        DataParallelStep.CheckFingerprints(ready, context.CheckpointDirectory is null ? 0 : -1, CancellationToken.None).GetAwaiter().GetResult();
        log($"training on {ready.Count} worker(s): {string.Join(", ", group.WorkerNames)}");
        return group;
    };

    static Task<ReplicaPrepared> Prepare(ActorShardWorker worker, PrepareReplica message, TimeSpan timeout) =>
        worker.Ask<ReplicaPrepared>(message, "a prepared replica", CancellationToken.None, timeout);

    public StepResult RunStep(IReadOnlyList<int> datasetIndices, long step)
    {
        var seLora = config.Method == AdapterMethod.SeLora ? config.SeLoraSeeded() : null;
        while (true)
        {
            try
            {
                return DataParallelStep.RunAsync(workers, datasetIndices, step, seLora, checkFingerprints: false, onLost: (worker, e) =>
                {
                    // Lost after the reduce: the step completed on the others (a lost trial shard leaves its share out of FI_exp).
                    workers.RemoveAll(w => w.Name == worker.Name);
                    log($"step {step}: {e.Message} Continuing on {workers.Count} worker(s).");
                }).GetAwaiter().GetResult();
            }
            catch (WorkerLostException lost) when (workers.Count > 1)
            {
                // Lost while computing shard gradients: nobody has applied anything, and replicas were identical before
                // the step, so the same global batch re-shards over the rest.
                workers.RemoveAll(w => w.Name == lost.Worker);
                log($"step {step}: {lost.Message} Re-running the step on {workers.Count} worker(s).");
            }
        }
    }

    public double Validate() => First<ReplicaValidated>(new ValidateReplica(), "the validation loss").Loss;

    public void WriteCheckpoint(string directory) => First<CheckpointFilesWritten>(new WriteCheckpointFiles(directory), "the checkpoint files");

    public IReadOnlyList<AdaptedLayerInfo> Layers() => First<LayersReported>(new GetLayers(), "its layers").Layers;

    public IReadOnlyDictionary<string, int> Ranks() => First<LayersReported>(new GetLayers(), "its layers").Ranks;

    T First<T>(object message, string what) => workers[0].Ask<T>(message, what, CancellationToken.None, stepTimeout).GetAwaiter().GetResult();

    public void Dispose()
    {
        foreach (var w in workers) w.Worker.Tell(new ReleaseReplica());
    }
}
