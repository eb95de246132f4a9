using SeLoRA.Adapters.Reporting;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Steps;

namespace SeLoRA.Training.Engine;

/// <summary>
/// The replicas a run trains, as the run loop sees them: one in this process (<see cref="LocalReplicaGroup"/>) or the
/// cluster's device workers, which split each global batch and all-reduce. Either way a step is <see cref="TrainingReplica"/>'s
/// step logic, so there is one training path.
/// </summary>
public interface IReplicaGroup : IDisposable
{
    /// <summary>One optimizer step on the global batch (dataset indices, the keys of every per-sample draw).</summary>
    StepResult RunStep(IReadOnlyList<int> datasetIndices, long step);

    /// <summary>The validation loss of the (identical) replicas now.</summary>
    double Validate();

    /// <summary>Writes the checkpoint tensors (adapters, optimizer, allocator) into <paramref name="directory"/>.</summary>
    void WriteCheckpoint(string directory);

    /// <summary>Every adapted layer with its current rank, shape and parameter count, in layer order.</summary>
    IReadOnlyList<AdaptedLayerInfo> Layers();

    /// <summary>Component-qualified layer name ("unet.down_blocks...") to its rank now.</summary>
    IReadOnlyDictionary<string, int> Ranks();
}

/// <summary>What a replica group is built from.</summary>
public sealed record ReplicaGroupContext(TrainingConfig Config, TrainingData Data, RunLayout Layout, string? CheckpointDirectory,
    long TotalSteps, TorchSharp.torch.Device Device, SeLoRA.Diffusion.Pipelines.StableDiffusionModels Models);
