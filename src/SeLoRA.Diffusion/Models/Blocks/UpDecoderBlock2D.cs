using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>UpDecoderBlock2D</c> (VAE decoder): resnets (no time input unless <c>tembChannels</c> is given), then an
/// optional nearest-2x + conv upsampler. No skip connections.
/// </summary>
public sealed class UpDecoderBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;
#pragma warning restore IDE1006

    public UpDecoderBlock2D(long inChannels, long outChannels, double dropout = 0.0, int numLayers = 1,
        double resnetEps = 1e-6, string resnetTimeScaleShift = "default", string resnetActFn = "swish",
        long resnetGroups = 32, double outputScaleFactor = 1.0, bool addUpsample = true, long? tembChannels = null,
        Device? device = null)
        : base(nameof(UpDecoderBlock2D))
    {
        var blocks = new ResnetBlock2D[numLayers];
        for (var i = 0; i < numLayers; i++)
            blocks[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, dropout, tembChannels,
                resnetGroups, eps: resnetEps, nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift,
                outputScaleFactor: outputScaleFactor, device: device);
        resnets = nn.ModuleList(blocks);
        if (addUpsample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, useConv: true, outChannels, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? temb)
    {
        using var scope = NewDisposeScope();
        var h = hiddenStates;
        foreach (var resnet in resnets) h = resnet.forward(h, temb);
        if (upsamplers is not null)
            foreach (var upsampler in upsamplers) h = upsampler.forward(h);
        return scope.MoveToOuter(h);
    }
}
