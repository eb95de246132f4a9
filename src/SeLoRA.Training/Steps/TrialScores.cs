using SeLoRA.Adapters.SeLora;
using static TorchSharp.torch;

namespace SeLoRA.Training.Steps;

/// <summary>FI_exp per layer from a (reduced) trial gradient buffer: what a coordinator computes without holding a model.</summary>
public static class TrialScores
{
    /// <summary>
    /// The buffer holds, per layer in controller order, trial A [r+1, in] then trial B [out, r+1] (as
    /// <see cref="TrainStep.ExportTrialGradients"/> writes); each layer's score is <see cref="FisherScore.Of(Tensor?[])"/> of its two slices.
    /// </summary>
    public static double[] FromBuffer(float[] trialBuffer, IReadOnlyList<SeLoraLayerState> layers)
    {
        ArgumentNullException.ThrowIfNull(trialBuffer);
        ArgumentNullException.ThrowIfNull(layers);
        var expected = layers.Sum(l => l.TrialLength);
        if (trialBuffer.LongLength != expected)
            throw new ArgumentException($"Trial buffer has {trialBuffer.LongLength} elements; the {layers.Count} layers need {expected}.", nameof(trialBuffer));
        var scores = new double[layers.Count];
        long offset = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var layer = layers[i];
            using var scope = NewDisposeScope();
            var lengthA = (layer.Rank + 1) * layer.InFeatures;
            var lengthB = layer.OutFeatures * (layer.Rank + 1);
            var gradA = tensor(trialBuffer.AsSpan((int)offset, (int)lengthA).ToArray(), new[] { layer.Rank + 1L, layer.InFeatures });
            var gradB = tensor(trialBuffer.AsSpan((int)(offset + lengthA), (int)lengthB).ToArray(), new[] { layer.OutFeatures, layer.Rank + 1L });
            scores[i] = FisherScore.Of(gradA, gradB);
            offset += lengthA + lengthB;
        }
        return scores;
    }
}
