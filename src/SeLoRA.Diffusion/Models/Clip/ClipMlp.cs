using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>transformers' CLIPMLP: fc1 -> hidden_act -> fc2.</summary>
public sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    // Typed as Module and not readonly, so adapters can swap in wrappers by name; always called through the field.
    nn.Module<Tensor, Tensor> fc1;
    nn.Module<Tensor, Tensor> fc2;
#pragma warning restore IDE1006

    readonly string activation;

    public ClipMlp(ClipTextConfig config) : base(nameof(ClipMlp))
    {
        if (!ClipActivation.IsSupported(config.HiddenAct))
            throw new ArgumentException($"hidden_act \"{config.HiddenAct}\" is not supported (use {string.Join(", ", ClipActivation.Supported)}).", nameof(config));
        activation = config.HiddenAct;
        fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize);
        fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var hidden = fc1.call(hiddenStates);
        hidden = ClipActivation.Apply(activation, hidden);
        hidden = fc2.call(hidden);
        return scope.MoveToOuter(hidden);
    }
}
