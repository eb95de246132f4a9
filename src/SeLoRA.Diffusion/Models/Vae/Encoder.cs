using SeLoRA.Diffusion.Models.Blocks;
using SeLoRA.Torch.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Vae;

/// <summary>diffusers vae.Encoder: image to 2 x latent_channels moments (mean and log-variance).</summary>
public sealed class Encoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly Conv2d conv_in;
    private readonly ModuleList<DownEncoderBlock2D> down_blocks;
    private readonly UNetMidBlock2D mid_block;
    private readonly GroupNorm conv_norm_out;
    private readonly nn.Module<Tensor, Tensor> conv_act;
    private readonly Conv2d conv_out;
#pragma warning restore IDE1006

    public Encoder(AutoencoderKlConfig config, Device? device = null) : base(nameof(Encoder))
    {
        var channels = config.BlockOutChannels;
        conv_in = nn.Conv2d(config.InChannels, channels[0], 3, padding: 1, device: device);
        var blocks = new DownEncoderBlock2D[channels.Length];
        var output = channels[0];
        for (var i = 0; i < channels.Length; i++)
        {
            var input = output;
            output = channels[i];
            // Upstream: padding 0 here means an explicit (0, 1, 0, 1) pad before the stride-2 conv.
            blocks[i] = new DownEncoderBlock2D(input, output, numLayers: config.LayersPerBlock, resnetEps: 1e-6,
                resnetActFn: config.ActFn, resnetGroups: config.NormNumGroups, addDownsample: i < channels.Length - 1,
                downsamplePadding: 0, device: device);
        }
        down_blocks = nn.ModuleList(blocks);
        mid_block = new UNetMidBlock2D(channels[^1], tembChannels: null, resnetEps: 1e-6, resnetActFn: config.ActFn,
            resnetGroups: config.NormNumGroups, addAttention: config.MidBlockAddAttention, attentionHeadDim: channels[^1], device: device);
        conv_norm_out = NormLayers.GroupNorm(config.NormNumGroups, channels[^1], eps: 1e-6, device: device);
        conv_act = nn.SiLU();
        conv_out = nn.Conv2d(channels[^1], 2 * config.LatentChannels, 3, padding: 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor sample)
    {
        using var scope = NewDisposeScope();
        var h = conv_in.forward(sample);
        foreach (var block in down_blocks) h = block.forward(h);
        h = mid_block.forward(h, null);
        h = conv_out.forward(conv_act.forward(conv_norm_out.forward(h)));
        return scope.MoveToOuter(h);
    }
}
