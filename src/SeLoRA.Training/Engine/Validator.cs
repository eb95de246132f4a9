using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Engine;

/// <summary>
/// The validation loss: the mean (weighted) epsilon-MSE over the validation images with noise, timesteps and VAE
/// posterior samples keyed by step 0 (training steps start at 1), so every validation of a run sees exactly the same
/// inputs and epochs are comparable.
/// </summary>
public sealed class Validator
{
    /// <summary>The randomness key of validation; training steps count from 1, so it never repeats a training draw.</summary>
    public const long ValidationKey = 0;

    readonly TrainingData data;
    readonly IReadOnlyList<int> indices;
    readonly int batchSize;
    readonly long seed;

    public Validator(TrainingData data, long seed, int batchSize, int maxSamples)
    {
        this.data = data;
        this.seed = seed;
        this.batchSize = batchSize;
        var usable = data.UsableValidIndices;
        indices = maxSamples > 0 ? usable.Take(maxSamples).ToList() : usable;
        if (indices.Count == 0) throw new InvalidDataException("no usable validation image (every one failed to decode).");
    }

    public int Count => indices.Count;

    /// <summary>The validation loss of the model as it is now (eval mode for the duration).</summary>
    public double Evaluate(TrainStep step, Methods.AdapterSet adapters, Device device)
    {
        adapters.Train(false);
        try
        {
            double total = 0;
            for (var start = 0; start < indices.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var chunk = indices.Skip(start).Take(batchSize).ToList();
                var latents = data.ValidLatents.SampleBatch(chunk, seed, ValidationKey).to(device);
                var ids = new long[chunk.Count, data.ValidPrompts.SequenceLength];
                for (var r = 0; r < chunk.Count; r++)
                {
                    var row = data.ValidPrompts.Row(chunk[r]);
                    for (var t = 0; t < row.Length; t++) ids[r, t] = row[t];
                }
                var batch = new StepBatch(latents, tensor(ids).to(device), chunk.Select(i => (long)i).ToArray());
                // EvaluateLoss returns the shard's share of a global mean: sum / global batch size.
                total += step.EvaluateLoss(batch, ValidationKey) * step.Options.GlobalBatchSize;
            }
            return total / indices.Count;
        }
        finally
        {
            adapters.Train(true);
        }
    }
}
