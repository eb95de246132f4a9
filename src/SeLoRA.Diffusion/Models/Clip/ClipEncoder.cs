using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>transformers' CLIPEncoder: the stack of <see cref="ClipEncoderLayer"/>s.</summary>
public sealed class ClipEncoder : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    ModuleList<ClipEncoderLayer> layers;
#pragma warning restore IDE1006

    public ClipEncoder(ClipTextConfig config) : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>();
        for (var i = 0; i < config.NumHiddenLayers; i++) layers.Add(new ClipEncoderLayer(config));
        RegisterComponents();
    }

    public int Count => layers.Count;

    public override Tensor forward(Tensor inputsEmbeds, Tensor? allowed) => Forward(inputsEmbeds, allowed, null);

    /// <summary>
    /// Runs every layer. When <paramref name="hiddenStates"/> is given it receives, as transformers'
    /// output_hidden_states does, the input followed by each layer's output (Count + 1 tensors, owned by the caller).
    /// </summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor? allowed, List<Tensor>? hiddenStates)
    {
        using var scope = NewDisposeScope();
        var collected = new List<Tensor>();
        if (hiddenStates is not null) collected.Add(inputsEmbeds.alias());
        var hidden = inputsEmbeds;
        foreach (var layer in layers)
        {
            hidden = layer.call(hidden, allowed);
            if (hiddenStates is not null) collected.Add(hidden);
        }
        // A handle of its own: the caller may dispose it apart from the collected states (or the input, with no layers).
        var result = hidden.alias();
        foreach (var tensor in collected) scope.MoveToOuter(tensor);
        hiddenStates?.AddRange(collected);
        return scope.MoveToOuter(result);
    }
}
