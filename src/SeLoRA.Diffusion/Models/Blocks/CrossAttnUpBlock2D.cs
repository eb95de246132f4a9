using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>CrossAttnUpBlock2D</c>: for each (resnet, Transformer2DModel) pair, concatenate the last remaining skip
/// state ([hidden, skip]), apply the resnet and the transformer; then an optional upsampler.
/// </summary>
public sealed class CrossAttnUpBlock2D : nn.Module<Tensor, Tensor[], Tensor?, Tensor?, long[]?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;
#pragma warning restore IDE1006

    public CrossAttnUpBlock2D(long inChannels, long outChannels, long prevOutputChannel, long? tembChannels,
        double dropout = 0.0, int numLayers = 1, long transformerLayersPerBlock = 1, double resnetEps = 1e-6,
        string resnetTimeScaleShift = "default", string resnetActFn = "swish", long resnetGroups = 32,
        long numAttentionHeads = 1, long crossAttentionDim = 1280, double outputScaleFactor = 1.0, bool addUpsample = true,
        bool useLinearProjection = false, bool onlyCrossAttention = false, bool upcastAttention = false,
        Device? device = null)
        : base(nameof(CrossAttnUpBlock2D))
    {
        var res = new ResnetBlock2D[numLayers];
        var attn = new Transformer2DModel[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            var resSkipChannels = i == numLayers - 1 ? inChannels : outChannels;
            var resnetInChannels = i == 0 ? prevOutputChannel : outChannels;
            res[i] = new ResnetBlock2D(resnetInChannels + resSkipChannels, outChannels, dropout, tembChannels, resnetGroups,
                eps: resnetEps, nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift,
                outputScaleFactor: outputScaleFactor, device: device);
            attn[i] = new Transformer2DModel(numAttentionHeads, outChannels / numAttentionHeads, outChannels,
                transformerLayersPerBlock, normNumGroups: resnetGroups, crossAttentionDim: crossAttentionDim,
                useLinearProjection: useLinearProjection, onlyCrossAttention: onlyCrossAttention,
                upcastAttention: upcastAttention, device: device);
        }
        attentions = nn.ModuleList(attn);
        resnets = nn.ModuleList(res);
        if (addUpsample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, useConv: true, outChannels, device));
        RegisterComponents();
    }

    public int NumResnets => resnets.Count;

    public override Tensor forward(Tensor hiddenStates, Tensor[] residuals, Tensor? temb, Tensor? encoderHiddenStates,
        long[]? upsampleSize)
    {
        if (residuals.Length < resnets.Count)
            throw new ArgumentException($"CrossAttnUpBlock2D needs {resnets.Count} skip states, got {residuals.Length}.", nameof(residuals));
        using var scope = NewDisposeScope();
        var h = hiddenStates;
        var next = residuals.Length - 1;
        for (var i = 0; i < resnets.Count; i++)
        {
            h = cat([h, residuals[next--]], 1);
            h = resnets[i].forward(h, temb);
            h = attentions[i].forward(h, encoderHiddenStates);
        }
        if (upsamplers is not null)
            foreach (var upsampler in upsamplers) h = upsampler.forward(h, upsampleSize);
        return scope.MoveToOuter(h);
    }
}
