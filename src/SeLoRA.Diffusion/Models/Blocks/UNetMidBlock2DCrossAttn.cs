using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers <c>UNetMidBlock2DCrossAttn</c>: resnets[0], then (Transformer2DModel, resnet) pairs.</summary>
public sealed class UNetMidBlock2DCrossAttn : nn.Module<Tensor, Tensor?, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;
#pragma warning restore IDE1006

    public UNetMidBlock2DCrossAttn(long inChannels, long? tembChannels, double dropout = 0.0, int numLayers = 1,
        long transformerLayersPerBlock = 1, double resnetEps = 1e-6, string resnetTimeScaleShift = "default",
        string resnetActFn = "swish", long? resnetGroups = 32, long numAttentionHeads = 1, double outputScaleFactor = 1.0,
        long crossAttentionDim = 1280, bool useLinearProjection = false, bool upcastAttention = false, Device? device = null)
        : base(nameof(UNetMidBlock2DCrossAttn))
    {
        var groups = resnetGroups ?? Math.Min(inChannels / 4, 32);
        ResnetBlock2D MakeResnet() => new(inChannels, inChannels, dropout, tembChannels, groups, eps: resnetEps,
            nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift, outputScaleFactor: outputScaleFactor,
            device: device);

        var res = new List<ResnetBlock2D> { MakeResnet() };
        var attn = new Transformer2DModel[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            attn[i] = new Transformer2DModel(numAttentionHeads, inChannels / numAttentionHeads, inChannels,
                transformerLayersPerBlock, normNumGroups: groups, crossAttentionDim: crossAttentionDim,
                useLinearProjection: useLinearProjection, upcastAttention: upcastAttention, device: device);
            res.Add(MakeResnet());
        }
        attentions = nn.ModuleList(attn);
        resnets = nn.ModuleList(res.ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? temb, Tensor? encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        var h = resnets[0].forward(hiddenStates, temb);
        for (var i = 0; i < attentions.Count; i++)
        {
            h = attentions[i].forward(h, encoderHiddenStates);
            h = resnets[i + 1].forward(h, temb);
        }
        return scope.MoveToOuter(h);
    }
}
