using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>UNetMidBlock2D</c> (VAE mid-block): resnets[0], then (Attention, resnet) pairs. The attention is the VAE
/// kind: GroupNorm on the input, q/k/v/out with bias, residual connection, heads = inChannels / attentionHeadDim
/// (AutoencoderKL passes attentionHeadDim = inChannels, i.e. one head). <c>addAttention: false</c> drops the attentions.
/// </summary>
public sealed class UNetMidBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<Attention>? attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;
#pragma warning restore IDE1006

    public UNetMidBlock2D(long inChannels, long? tembChannels, double dropout = 0.0, int numLayers = 1,
        double resnetEps = 1e-6, string resnetTimeScaleShift = "default", string resnetActFn = "swish",
        long? resnetGroups = 32, long? attnGroups = null, bool addAttention = true, long? attentionHeadDim = 1,
        double outputScaleFactor = 1.0, Device? device = null)
        : base(nameof(UNetMidBlock2D))
    {
        var groups = resnetGroups ?? Math.Min(inChannels / 4, 32);
        // Upstream drops the attention GroupNorm unless the resnets use the default time-embedding norm.
        var attentionGroups = attnGroups ?? (resnetTimeScaleShift == "default" ? groups : (long?)null);
        var headDim = attentionHeadDim ?? inChannels;
        ResnetBlock2D MakeResnet() => new(inChannels, inChannels, dropout, tembChannels, groups, eps: resnetEps,
            nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift, outputScaleFactor: outputScaleFactor,
            device: device);

        var res = new List<ResnetBlock2D> { MakeResnet() };
        var attn = new List<Attention>();
        for (var i = 0; i < numLayers; i++)
        {
            if (addAttention)
                attn.Add(new Attention(inChannels, heads: inChannels / headDim, dimHead: headDim, bias: true,
                    upcastSoftmax: true, normNumGroups: attentionGroups, eps: resnetEps,
                    rescaleOutputFactor: outputScaleFactor, residualConnection: true, device: device));
            res.Add(MakeResnet());
        }
        if (addAttention) attentions = nn.ModuleList(attn.ToArray());
        resnets = nn.ModuleList(res.ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? temb)
    {
        using var scope = NewDisposeScope();
        var h = resnets[0].forward(hiddenStates, temb);
        for (var i = 1; i < resnets.Count; i++)
        {
            if (attentions is not null) h = attentions[i - 1].forward(h, null);
            h = resnets[i].forward(h, temb);
        }
        return scope.MoveToOuter(h);
    }
}
