using SeLoRA.Torch.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>BasicTransformerBlock</c> (norm_type "layer_norm"): x += attn1(norm1(x)); x += attn2(norm2(x), context);
/// x += ff(norm3(x)). attn2 exists when a cross-attention dim is given (or double self-attention); with a null context
/// it attends to its own input.
/// </summary>
public sealed class BasicTransformerBlock : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly Attention attn1;
    private readonly nn.Module<Tensor, Tensor>? norm2;
    private readonly Attention? attn2;
    private readonly nn.Module<Tensor, Tensor> norm3;
    private readonly FeedForward ff;
#pragma warning restore IDE1006

    public bool OnlyCrossAttention { get; }

    public BasicTransformerBlock(long dim, long numAttentionHeads, long attentionHeadDim, double dropout = 0.0,
        long? crossAttentionDim = null, string activationFn = "geglu", bool attentionBias = false,
        bool onlyCrossAttention = false, bool doubleSelfAttention = false, bool upcastAttention = false,
        bool normElementwiseAffine = true, double normEps = 1e-5, Device? device = null)
        : base(nameof(BasicTransformerBlock))
    {
        OnlyCrossAttention = onlyCrossAttention;
        norm1 = NormLayers.LayerNorm(dim, normEps, normElementwiseAffine, device: device);
        attn1 = new Attention(dim, onlyCrossAttention ? crossAttentionDim : null, numAttentionHeads, attentionHeadDim,
            dropout, attentionBias, upcastAttention, device: device);
        if (crossAttentionDim is not null || doubleSelfAttention)
        {
            norm2 = NormLayers.LayerNorm(dim, normEps, normElementwiseAffine, device: device);
            attn2 = new Attention(dim, doubleSelfAttention ? null : crossAttentionDim, numAttentionHeads, attentionHeadDim,
                dropout, attentionBias, upcastAttention, device: device);
        }
        norm3 = NormLayers.LayerNorm(dim, normEps, normElementwiseAffine, device: device);
        ff = new FeedForward(dim, dropout: dropout, activationFn: activationFn, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        var normed = norm1.forward(hiddenStates);
        var h = attn1.forward(normed, OnlyCrossAttention ? encoderHiddenStates : null) + hiddenStates;
        if (attn2 is not null)
        {
            normed = norm2!.forward(h);
            h = attn2.forward(normed, encoderHiddenStates) + h;
        }
        normed = norm3.forward(h);
        h = ff.forward(normed) + h;
        return scope.MoveToOuter(h);
    }
}
