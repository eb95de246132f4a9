using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>Downsample2D</c>: 3x3 conv with stride 2 (padding 0 means an explicit (0,1,0,1) zero pad first, as the
/// VAE encoder uses), or 2x2 average pooling without conv. The conv is registered only as <c>conv</c>; upstream's
/// standalone default (name "conv") also aliases it as <c>Conv2d_0</c>, which no SD checkpoint uses.
/// </summary>
public sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> conv;
#pragma warning restore IDE1006

    public long Channels { get; }
    public long OutChannels { get; }
    public bool UseConv { get; }
    public long Padding { get; }

    public Downsample2D(long channels, bool useConv = false, long? outChannels = null, long padding = 1, Device? device = null)
        : base(nameof(Downsample2D))
    {
        Channels = channels;
        OutChannels = outChannels ?? channels;
        UseConv = useConv;
        Padding = padding;
        const long stride = 2;
        if (useConv)
        {
            conv = nn.Conv2d(channels, OutChannels, kernel_size: 3, stride: stride, padding: padding, device: device);
        }
        else
        {
            if (OutChannels != channels)
                throw new ArgumentException($"Downsample2D without conv needs outChannels == channels ({OutChannels} != {channels}).");
            conv = nn.AvgPool2d(kernel_size: stride, stride: stride);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        if (hiddenStates.shape[1] != Channels)
            throw new ArgumentException($"Downsample2D expects {Channels} channels, got {hiddenStates.shape[1]}.");
        if (!UseConv || Padding != 0)
            return conv.forward(hiddenStates);
        using var padded = nn.functional.pad(hiddenStates, [0, 1, 0, 1], PaddingModes.Constant, 0);
        return conv.forward(padded);
    }
}
