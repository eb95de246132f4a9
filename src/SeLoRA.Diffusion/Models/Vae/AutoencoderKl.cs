using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Vae;

/// <summary>
/// diffusers AutoencoderKL. SD keeps it frozen: Encode gives the posterior of an image in [-1, 1], Decode maps latents
/// (already divided by the scaling factor) back to an image in about [-1, 1].
/// </summary>
public sealed class AutoencoderKl : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly Encoder encoder;
    private readonly Decoder decoder;
    private readonly Conv2d? quant_conv;
    private readonly Conv2d? post_quant_conv;
#pragma warning restore IDE1006

    public AutoencoderKlConfig Config { get; }

    public AutoencoderKl(AutoencoderKlConfig config, Device? device = null) : base(nameof(AutoencoderKl))
    {
        Config = config;
        encoder = new Encoder(config, device);
        decoder = new Decoder(config, device);
        if (config.UseQuantConv) quant_conv = nn.Conv2d(2 * config.LatentChannels, 2 * config.LatentChannels, 1, device: device);
        if (config.UsePostQuantConv) post_quant_conv = nn.Conv2d(config.LatentChannels, config.LatentChannels, 1, device: device);
        RegisterComponents();
    }

    public DiagonalGaussianDistribution Encode(Tensor image)
    {
        using var scope = NewDisposeScope();
        var moments = encoder.forward(image);
        if (quant_conv is not null) moments = quant_conv.forward(moments);
        var posterior = new DiagonalGaussianDistribution(moments);
        scope.MoveToOuter(posterior.Mean, posterior.LogVar, posterior.Std);
        return posterior;
    }

    public Tensor Decode(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var z = post_quant_conv is not null ? post_quant_conv.forward(latents) : latents;
        return scope.MoveToOuter(decoder.forward(z));
    }

    /// <summary>Reconstruction through the posterior mode, as diffusers' forward with sample_posterior = false.</summary>
    public override Tensor forward(Tensor image)
    {
        using var scope = NewDisposeScope();
        using var posterior = Encode(image);
        return scope.MoveToOuter(Decode(posterior.Mean));
    }
}
