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
    readonly TimeSpan prepareTimeout;
    readonly PrepareReplica template;
    readonly string syncRoot;
    readonly SeLoRA.Cluster.Transport.TensorTransport? transport;
    readonly System.Collections.Concurrent.ConcurrentQueue<IActorRef> joining = new();
    long lastStep;

    ClusterReplicaGroup(TrainingConfig config, List<ActorShardWorker> workers, TimeSpan stepTimeout, TimeSpan prepareTimeout, PrepareReplica template,
        string syncRoot, SeLoRA.Cluster.Transport.TensorTransport? transport, Action<string> log)
    {
        this.config = config;
        this.workers = workers;
        this.stepTimeout = stepTimeout;
        this.prepareTimeout = prepareTimeout;
        this.template = template;
        this.syncRoot = syncRoot;
        this.transport = transport;
        this.log = log;
    }

    /// <summary>Fingerprints are compared every this many steps (and after every expansion).</summary>
    public int FingerprintEvery { get; init; } = 50;

    /// <summary>A worker that registered while the run trains; it receives the current state before its first step.</summary>
    public void Admit(IActorRef worker) => joining.Enqueue(worker);

    public IReadOnlyList<string> WorkerNames => workers.Select(w => w.Name).ToList();

    /// <summary>
    /// A factory for <see cref="RunOptions.Replicas"/>: prepares a replica on every worker (in parallel), checks that they
    /// start identical, and drops workers that fail to prepare (at least one must succeed).
    /// </summary>
    public static Func<ReplicaGroupContext, IReplicaGroup> Factory(IReadOnlyList<IActorRef> workers, string latentCacheRoot,
        TimeSpan prepareTimeout, TimeSpan stepTimeout, Action<string>? log = null, SeLoRA.Cluster.Transport.TensorTransport? transport = null,
        int fingerprintEvery = 50, Action<ClusterReplicaGroup>? created = null) => context =>
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
        var group = new ClusterReplicaGroup(context.Config, ready, stepTimeout, prepareTimeout, message,
            Path.Combine(context.Layout.Checkpoints, ".tmp-sync"), transport, log) { FingerprintEvery = fingerprintEvery };
        created?.Invoke(group);
        DataParallelStep.CheckFingerprints(ready, context.CheckpointDirectory is null ? 0 : -1, CancellationToken.None).GetAwaiter().GetResult();
        log($"training on {ready.Count} worker(s): {string.Join(", ", group.WorkerNames)}");
        return group;
    };

    static Task<ReplicaPrepared> Prepare(ActorShardWorker worker, PrepareReplica message, TimeSpan timeout) =>
        worker.Ask<ReplicaPrepared>(message, "a prepared replica", CancellationToken.None, timeout);

    public StepResult RunStep(IReadOnlyList<int> datasetIndices, long step)
    {
        AdmitJoiners();
        if (workers.Count == 1 && !workers[0].IsRemote)
        {
            // One replica in this process: the whole step runs on it, exactly as a single-process run (no reduce needed).
            var whole = workers[0].Ask<WholeStepRan>(new RunWholeStep(step, datasetIndices.ToArray()), $"step {step}", CancellationToken.None)
                .GetAwaiter().GetResult();
            lastStep = step;
            return new StepResult(step, whole.Loss, whole.Decisions is null ? null : new SeLoRA.Adapters.SeLora.ExpansionTestResult(step, whole.Decisions), whole.Changes);
        }
        var seLora = config.Method == AdapterMethod.SeLora ? config.SeLoraSeeded() : null;
        while (true)
        {
            try
            {
                var mismatched = new List<ReplicaMismatchException>();
                var result = DataParallelStep.RunAsync(workers, datasetIndices, step, seLora, checkFingerprints: step % FingerprintEvery == 0,
                    onLost: (worker, e) =>
                    {
                        // Lost after the reduce: the step completed on the others (a lost trial shard is recomputed by a survivor).
                        workers.RemoveAll(w => w.Name == worker.Name);
                        log($"step {step}: {e.Message} Continuing on {workers.Count} worker(s).");
                    },
                    onMismatch: mismatched.Add).GetAwaiter().GetResult();
                lastStep = step;
                Repair(mismatched);
                return result;
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

    /// <summary>Resynchronises replicas that drifted from the first; one that cannot be repaired leaves the run.</summary>
    void Repair(IReadOnlyList<ReplicaMismatchException> mismatched)
    {
        foreach (var m in mismatched)
        {
            log($"error: {m.Message} Resynchronising it from {workers[0].Name}.");
            var target = workers.First(w => w.Name == m.Worker);
            try
            {
                Resynchronise(target);
            }
            catch (Exception e) when (e is WorkerLostException or IOException or InvalidOperationException)
            {
                workers.Remove(target);
                log($"{target.Name} could not be resynchronised ({e.Message}); training on {workers.Count} worker(s).");
            }
        }
    }

    /// <summary>Brings workers that registered during the run to the current state, then adds them (in arrival order).</summary>
    void AdmitJoiners()
    {
        while (joining.TryDequeue(out var worker))
        {
            var proxy = new ActorShardWorker(worker, stepTimeout, transport);
            if (workers.Any(w => w.Name == proxy.Name)) continue;
            try
            {
                Resynchronise(proxy);
                workers.Add(proxy);
                log($"worker {proxy.Name} joined after step {lastStep}; training on {workers.Count} worker(s).");
            }
            catch (Exception e) when (e is WorkerLostException or IOException or InvalidOperationException)
            {
                log($"worker {proxy.Name} could not join: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Loads the first worker's current adapters and optimizer state into <paramref name="target"/> (through a checkpoint
    /// folder on this node) and checks that it then matches.
    /// </summary>
    void Resynchronise(ActorShardWorker target)
    {
        var folder = Path.Combine(syncRoot, Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(folder);
            First<CheckpointFilesWritten>(new WriteCheckpointFiles(folder), "checkpoint files for a resynchronisation");
            target.Ask<ReplicaPrepared>(template with { CheckpointDirectory = folder }, "a resynchronised replica", CancellationToken.None, prepareTimeout)
                .GetAwaiter().GetResult();
            var mismatch = DataParallelStep.FindMismatches([workers[0], target], lastStep, CancellationToken.None).GetAwaiter().GetResult();
            if (mismatch.Count > 0) throw new WorkerLostException(target.Name, mismatch[0].Message);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
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
