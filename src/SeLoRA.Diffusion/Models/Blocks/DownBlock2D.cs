using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>DownBlock2D</c>: resnets, then an optional stride-2 conv downsampler. Returns the final hidden states
/// and the skip states (each resnet output, then the downsampled output). The context argument is unused; it keeps the
/// signature equal to <see cref="CrossAttnDownBlock2D"/>.
/// </summary>
public sealed class DownBlock2D : nn.Module<Tensor, Tensor?, Tensor?, (Tensor Hidden, Tensor[] Residuals)>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;
#pragma warning restore IDE1006

    public DownBlock2D(long inChannels, long outChannels, long? tembChannels, double dropout = 0.0, int numLayers = 1,
        double resnetEps = 1e-6, string resnetTimeScaleShift = "default", string resnetActFn = "swish",
        long resnetGroups = 32, double outputScaleFactor = 1.0, bool addDownsample = true, long downsamplePadding = 1,
        Device? device = null)
        : base(nameof(DownBlock2D))
    {
        var blocks = new ResnetBlock2D[numLayers];
        for (var i = 0; i < numLayers; i++)
            blocks[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, dropout, tembChannels, resnetGroups,
                eps: resnetEps, nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift,
                outputScaleFactor: outputScaleFactor, device: device);
        resnets = nn.ModuleList(blocks);
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
        foreach (var resnet in resnets)
        {
            h = resnet.forward(h, temb);
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
