using SeLoRA.Adapters.Reporting;
using SeLoRA.Training.Steps;

namespace SeLoRA.Training.Engine;

/// <summary>One replica in this process: the run's default without a cluster, and the reference the cluster must equal.</summary>
public sealed class LocalReplicaGroup(TrainingReplica replica) : IReplicaGroup
{
    public TrainingReplica Replica { get; } = replica;

    public static LocalReplicaGroup Create(ReplicaGroupContext context) =>
        new(TrainingReplica.Create(context.Config, context.Data, context.Device, context.TotalSteps, context.CheckpointDirectory, context.Models));

    public StepResult RunStep(IReadOnlyList<int> datasetIndices, long step) => Replica.RunStep(datasetIndices, step);

    public double Validate() => Replica.Validate();

    public void WriteCheckpoint(string directory) => Replica.WriteCheckpoint(directory);

    public IReadOnlyList<AdaptedLayerInfo> Layers() => Replica.Adapters.Layers.Select(AdaptedLayerInfo.FromAdapter).ToList();

    public IReadOnlyDictionary<string, int> Ranks() => Replica.Adapters.Ranks();

    public void Dispose() => Replica.Dispose();
}
