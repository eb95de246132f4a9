using SeLoRA.Data.Datasets;
using SeLoRA.Training.Checkpoints;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>What a metric sees: the split's examples, the images generated for their prompts (same order), the checkpoint.</summary>
public sealed record MetricInputs(
    IReadOnlyList<TextImageExample> Examples,
    IReadOnlyList<string> GeneratedImages,
    string DatasetFolder,
    bool SynthCxr,
    CheckpointState Checkpoint,
    string Split,
    string RunDirectory);
