using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>UpBlock2D</c>: for each resnet, concatenate the last remaining skip state on the channel axis
/// ([hidden, skip]) and apply it; then an optional nearest-2x + conv upsampler. The context argument is unused; it keeps
/// the signature equal to <see cref="CrossAttnUpBlock2D"/>. <c>residuals</c> are consumed from the end.
/// </summary>
public sealed class UpBlock2D : nn.Module<Tensor, Tensor[], Tensor?, Tensor?, long[]?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;
#pragma warning restore IDE1006

    public UpBlock2D(long inChannels, long prevOutputChannel, long outChannels, long? tembChannels, double dropout = 0.0,
        int numLayers = 1, double resnetEps = 1e-6, string resnetTimeScaleShift = "default", string resnetActFn = "swish",
        long resnetGroups = 32, double outputScaleFactor = 1.0, bool addUpsample = true, Device? device = null)
        : base(nameof(UpBlock2D))
    {
        var blocks = new ResnetBlock2D[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            var resSkipChannels = i == numLayers - 1 ? inChannels : outChannels;
            var resnetInChannels = i == 0 ? prevOutputChannel : outChannels;
            blocks[i] = new ResnetBlock2D(resnetInChannels + resSkipChannels, outChannels, dropout, tembChannels, resnetGroups,
                eps: resnetEps, nonLinearity: resnetActFn, timeEmbeddingNorm: resnetTimeScaleShift,
                outputScaleFactor: outputScaleFactor, device: device);
        }
        resnets = nn.ModuleList(blocks);
        if (addUpsample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, useConv: true, outChannels, device));
        RegisterComponents();
    }

    public int NumResnets => resnets.Count;

    public override Tensor forward(Tensor hiddenStates, Tensor[] residuals, Tensor? temb, Tensor? encoderHiddenStates,
        long[]? upsampleSize)
    {
        if (residuals.Length < resnets.Count)
            throw new ArgumentException($"UpBlock2D needs {resnets.Count} skip states, got {residuals.Length}.", nameof(residuals));
        using var scope = NewDisposeScope();
        var h = hiddenStates;
        var next = residuals.Length - 1;
        foreach (var resnet in resnets)
        {
            h = cat([h, residuals[next--]], 1);
            h = resnet.forward(h, temb);
        }
        if (upsamplers is not null)
            foreach (var upsampler in upsamplers) h = upsampler.forward(h, upsampleSize);
        return scope.MoveToOuter(h);
    }
}
