using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>
/// What <see cref="ClipTextModel"/> returns (transformers' BaseModelOutputWithPooling). The caller owns and disposes it.
/// </summary>
public sealed class ClipTextOutput(Tensor lastHiddenState, Tensor pooledOutput, IReadOnlyList<Tensor>? hiddenStates) : IDisposable
{
    /// <summary>[batch, seq, hidden] after final_layer_norm: Stable Diffusion's conditioning.</summary>
    public Tensor LastHiddenState { get; } = lastHiddenState;

    /// <summary>[batch, hidden]: the last hidden state at each row's EOS position (before any projection).</summary>
    public Tensor PooledOutput { get; } = pooledOutput;

    /// <summary>
    /// When requested: the embeddings, then each encoder layer's output (num_hidden_layers + 1 tensors), all before
    /// final_layer_norm, as transformers' hidden_states. "CLIP skip" uses final_layer_norm(HiddenStates[^2]).
    /// </summary>
    public IReadOnlyList<Tensor>? HiddenStates { get; } = hiddenStates;

    public void Dispose()
    {
        LastHiddenState.Dispose();
        PooledOutput.Dispose();
        if (HiddenStates is not null)
            foreach (var tensor in HiddenStates) tensor.Dispose();
    }
}
