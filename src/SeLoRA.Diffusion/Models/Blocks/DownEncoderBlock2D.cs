using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>DownEncoderBlock2D</c> (VAE encoder): resnets without time input, then an optional stride-2 conv
/// downsampler. AutoencoderKL's encoder passes <c>downsamplePadding: 0</c> (explicit asymmetric pad).
/// </summary>
public sealed class DownEncoderBlock2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;
#pragma warning restore IDE1006

    public DownEncoderBlock2D(long inChannels, long outChannels, double dropout = 0.0, int numLayers = 1,
        double resnetEps = 1e-6, string resnetTimeScaleShift = "default", string resnetActFn = "swish",
        long resnetGroups = 32, double outputScaleFactor = 1.0, bool addDownsample = true, long downsamplePadding = 1,
        Device? device = null)
        : base(nameof(DownEncoderBlock2D))
    {
        var blocks = new ResnetBlock2D[numLayers];
        for (var i = 0; i < numLayers; i++)
            blocks[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, dropout, tembChannels: null,
                resnetGroups, eps: resnetEps, nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift,
                outputScaleFactor: outputScaleFactor, device: device);
        resnets = nn.ModuleList(blocks);
        if (addDownsample)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, useConv: true, outChannels, downsamplePadding, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var h = hiddenStates;
        foreach (var resnet in resnets) h = resnet.forward(h, null);
        if (downsamplers is not null)
            foreach (var downsampler in downsamplers) h = downsampler.forward(h);
        return scope.MoveToOuter(h);
    }
}
