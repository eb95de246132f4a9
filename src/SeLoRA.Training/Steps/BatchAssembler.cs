using SeLoRA.Data.LatentCache;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Torch.Randomness;
using static TorchSharp.torch;

namespace SeLoRA.Training.Steps;

/// <summary>
/// Builds a worker's <see cref="StepBatch"/> from dataset indices: cached latents sampled with per-sample noise, the prompts'
/// token ids, and prompt dropout (the empty prompt instead, for classifier-free guidance). Every draw is keyed by
/// (seed, step, dataset index), and the dataset index is the sample key, so a shard holds exactly the rows the whole
/// batch would give those samples, however the global batch is split.
/// </summary>
public sealed class BatchAssembler
{
    readonly LatentStore _latents;
    readonly TokenizedBatch _prompts;
    readonly long[] _emptyPrompt;
    readonly ulong _seed;
    readonly double _promptDropout;

    /// <param name="prompts">Token ids of every example, row i for dataset index i.</param>
    /// <param name="emptyPrompt">Token ids of the empty prompt (the unconditional input).</param>
    public BatchAssembler(LatentStore latents, TokenizedBatch prompts, long[] emptyPrompt, ulong seed, double promptDropout = 0.0)
    {
        if (prompts.BatchSize != latents.Count)
            throw new ArgumentException($"{prompts.BatchSize} tokenized prompts for {latents.Count} cached images.");
        if (emptyPrompt.Length != prompts.SequenceLength)
            throw new ArgumentException($"the empty prompt has {emptyPrompt.Length} tokens, prompts have {prompts.SequenceLength}.");
        if (promptDropout is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(promptDropout), promptDropout, "a probability in [0, 1]");
        _latents = latents;
        _prompts = prompts;
        _emptyPrompt = emptyPrompt;
        _seed = seed;
        _promptDropout = promptDropout;
    }

    /// <summary>Whether sample <paramref name="datasetIndex"/> trains with the empty prompt at <paramref name="step"/>.</summary>
    public bool DropsPrompt(long step, int datasetIndex) =>
        _promptDropout > 0 && new SplitMix64(StepRandomness.Key(_seed, step, datasetIndex, StepRandomPurpose.PromptDropout)).NextDouble() < _promptDropout;

    /// <summary>The batch of these dataset indices at this step; the caller disposes its tensors (or scopes them).</summary>
    public StepBatch Assemble(IReadOnlyList<int> datasetIndices, long step)
    {
        if (datasetIndices.Count == 0) throw new ArgumentException("a batch needs at least one sample.");
        var latents = _latents.SampleBatch(datasetIndices, unchecked((long)_seed), step);
        var ids = new long[datasetIndices.Count, _prompts.SequenceLength];
        for (var row = 0; row < datasetIndices.Count; row++)
        {
            var source = DropsPrompt(step, datasetIndices[row]) ? _emptyPrompt : _prompts.Row(datasetIndices[row]);
            for (var t = 0; t < source.Length; t++) ids[row, t] = source[t];
        }
        return new StepBatch(latents, tensor(ids), datasetIndices.Select(i => (long)i).ToArray());
    }
}
