using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers <c>Upsample2D</c> (name "conv"): nearest 2x (or to an explicit size), then an optional 3x3 conv.</summary>
public sealed class Upsample2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor>? conv;
#pragma warning restore IDE1006

    public long Channels { get; }
    public long OutChannels { get; }
    public bool UseConv { get; }

    public Upsample2D(long channels, bool useConv = false, long? outChannels = null, Device? device = null)
        : base(nameof(Upsample2D))
    {
        Channels = channels;
        OutChannels = outChannels ?? channels;
        UseConv = useConv;
        if (useConv)
            conv = nn.Conv2d(channels, OutChannels, kernel_size: 3, padding: 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates) => forward(hiddenStates, null);

    /// <param name="outputSize">[H, W] to interpolate to instead of 2x (the U-Net passes it for odd sizes).</param>
    public Tensor forward(Tensor hiddenStates, long[]? outputSize)
    {
        if (hiddenStates.shape[1] != Channels)
            throw new ArgumentException($"Upsample2D expects {Channels} channels, got {hiddenStates.shape[1]}.");
        using var scope = NewDisposeScope();
        var h = outputSize is null
            ? nn.functional.interpolate(hiddenStates, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest)
            : nn.functional.interpolate(hiddenStates, size: outputSize, mode: InterpolationMode.Nearest);
        if (conv is not null) h = conv.forward(h);
        return scope.MoveToOuter(h);
    }
}
