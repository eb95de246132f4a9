using SeLoRA.Adapters.Reporting;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Steps;

namespace SeLoRA.Training.Engine;

/// <summary>
/// W replicas in this process, each with its own model copy, stepping through <see cref="DataParallelStep"/> one after
/// another on the calling thread: the data-parallel reference without actors or networks.
/// </summary>
public sealed class InProcessReplicaGroup : IReplicaGroup
{
    readonly IReadOnlyList<ReplicaShardWorker> workers;
    readonly TrainingConfig config;

    InProcessReplicaGroup(TrainingConfig config, IReadOnlyList<ReplicaShardWorker> workers)
    {
        this.config = config;
        this.workers = workers;
    }

    public IReadOnlyList<TrainingReplica> Replicas => workers.Select(w => w.Replica).ToList();

    /// <summary>A factory for <see cref="RunOptions.Replicas"/>: each replica loads its own copy of the base model.</summary>
    public static Func<ReplicaGroupContext, IReplicaGroup> Factory(int count) => context =>
    {
        var replicas = new List<ReplicaShardWorker>();
        for (var w = 0; w < count; w++)
            replicas.Add(new ReplicaShardWorker($"replica-{w}", TrainingReplica.Create(context.Config, context.Data, context.Device, context.TotalSteps,
                context.CheckpointDirectory, StableDiffusionModels.Load(context.Config.BaseModel))));
        var group = new InProcessReplicaGroup(context.Config, replicas);
        DataParallelStep.CheckFingerprints(replicas, 0, CancellationToken.None).GetAwaiter().GetResult();
        return group;
    };

    public StepResult RunStep(IReadOnlyList<int> datasetIndices, long step) =>
        DataParallelStep.RunAsync(workers, datasetIndices, step, config.Method == AdapterMethod.SeLora ? config.SeLoraSeeded() : null,
            checkFingerprints: false).GetAwaiter().GetResult();

    public double Validate() => workers[0].Replica.Validate();

    public void WriteCheckpoint(string directory) => workers[0].Replica.WriteCheckpoint(directory);

    public IReadOnlyList<AdaptedLayerInfo> Layers() => workers[0].Replica.Adapters.Layers.Select(AdaptedLayerInfo.FromAdapter).ToList();

    public IReadOnlyDictionary<string, int> Ranks() => workers[0].Replica.Adapters.Ranks();

    public void Dispose()
    {
        foreach (var w in workers) w.Replica.Dispose();
    }
}
