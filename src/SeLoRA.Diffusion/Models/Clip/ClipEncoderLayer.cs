using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>transformers' CLIPEncoderLayer: pre-LayerNorm self-attention and MLP, each with a residual.</summary>
public sealed class ClipEncoderLayer : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    ClipAttention self_attn;
    LayerNorm layer_norm1;
    ClipMlp mlp;
    LayerNorm layer_norm2;
#pragma warning restore IDE1006

    public ClipEncoderLayer(ClipTextConfig config) : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(config);
        layer_norm1 = NormLayers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(config);
        layer_norm2 = NormLayers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <param name="hiddenStates">[batch, seq, hidden].</param>
    /// <param name="allowed">Boolean attention mask (true = may attend), see <see cref="ClipAttention"/>.</param>
    public override Tensor forward(Tensor hiddenStates, Tensor? allowed)
    {
        using var scope = NewDisposeScope();
        var hidden = hiddenStates + self_attn.call(layer_norm1.call(hiddenStates), allowed);
        hidden = hidden + mlp.call(layer_norm2.call(hidden));
        return scope.MoveToOuter(hidden);
    }
}
