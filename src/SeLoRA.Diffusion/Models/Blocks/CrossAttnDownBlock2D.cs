using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>CrossAttnDownBlock2D</c>: (resnet, Transformer2DModel) pairs, then an optional downsampler. Returns the
/// final hidden states and the skip states (each pair's output, then the downsampled output).
/// </summary>
public sealed class CrossAttnDownBlock2D : nn.Module<Tensor, Tensor?, Tensor?, (Tensor Hidden, Tensor[] Residuals)>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;
#pragma warning restore IDE1006

    public CrossAttnDownBlock2D(long inChannels, long outChannels, long? tembChannels, double dropout = 0.0,
        int numLayers = 1, long transformerLayersPerBlock = 1, double resnetEps = 1e-6,
        string resnetTimeScaleShift = "default", string resnetActFn = "swish", long resnetGroups = 32,
        long numAttentionHeads = 1, long crossAttentionDim = 1280, double outputScaleFactor = 1.0,
        long downsamplePadding = 1, bool addDownsample = true, bool useLinearProjection = false,
        bool onlyCrossAttention = false, bool upcastAttention = false, Device? device = null)
        : base(nameof(CrossAttnDownBlock2D))
    {
        var res = new ResnetBlock2D[numLayers];
        var attn = new Transformer2DModel[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            res[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, dropout, tembChannels, resnetGroups,
                eps: resnetEps, nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift,
                outputScaleFactor: outputScaleFactor, device: device);
            attn[i] = new Transformer2DModel(numAttentionHeads, outChannels / numAttentionHeads, outChannels,
                transformerLayersPerBlock, normNumGroups: resnetGroups, crossAttentionDim: crossAttentionDim,
                useLinearProjection: useLinearProjection, onlyCrossAttention: onlyCrossAttention,
                upcastAttention: upcastAttention, device: device);
        }
        attentions = nn.ModuleList(attn);
        resnets = nn.ModuleList(res);
        if (addDownsample)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, useConv: true, outChannels, downsamplePadding, device));
        RegisterComponents();
    }

    public int NumResnets => resnets.Count;

    public override (Tensor Hidden, Tensor[] Residuals) forward(Tensor hiddenStates, Tensor? temb, Tensor? encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        var outputs = new List<Tensor>();
        var h = hiddenStates;
        for (var i = 0; i < resnets.Count; i++)
        {
            h = resnets[i].forward(h, temb);
            h = attentions[i].forward(h, encoderHiddenStates);
            outputs.Add(h);
        }
        if (downsamplers is not null)
        {
            foreach (var downsampler in downsamplers) h = downsampler.forward(h);
            outputs.Add(h);
        }
        return BlockOutputs.MoveOut(scope, h, outputs);
    }
}
