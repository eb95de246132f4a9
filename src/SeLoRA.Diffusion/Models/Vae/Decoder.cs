using SeLoRA.Diffusion.Models.Blocks;
using SeLoRA.Torch.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Vae;

/// <summary>diffusers vae.Decoder: latents to an image in about [-1, 1].</summary>
public sealed class Decoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly Conv2d conv_in;
    private readonly UNetMidBlock2D mid_block;
    private readonly ModuleList<UpDecoderBlock2D> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly nn.Module<Tensor, Tensor> conv_act;
    private readonly Conv2d conv_out;
#pragma warning restore IDE1006

    public Decoder(AutoencoderKlConfig config, Device? device = null) : base(nameof(Decoder))
    {
        var channels = config.BlockOutChannels;
        conv_in = nn.Conv2d(config.LatentChannels, channels[^1], 3, padding: 1, device: device);
        mid_block = new UNetMidBlock2D(channels[^1], tembChannels: null, resnetEps: 1e-6, resnetActFn: config.ActFn,
            resnetGroups: config.NormNumGroups, addAttention: config.MidBlockAddAttention, attentionHeadDim: channels[^1], device: device);
        var reversed = channels.Reverse().ToArray();
        var blocks = new UpDecoderBlock2D[reversed.Length];
        var output = reversed[0];
        for (var i = 0; i < reversed.Length; i++)
        {
            var input = output;
            output = reversed[i];
            // Upstream gives decoder blocks one more resnet than layers_per_block.
            blocks[i] = new UpDecoderBlock2D(input, output, numLayers: config.LayersPerBlock + 1, resnetEps: 1e-6,
                resnetActFn: config.ActFn, resnetGroups: config.NormNumGroups, addUpsample: i < reversed.Length - 1, device: device);
        }
        up_blocks = nn.ModuleList(blocks);
        conv_norm_out = NormLayers.GroupNorm(config.NormNumGroups, channels[0], eps: 1e-6, device: device);
        conv_act = nn.SiLU();
        conv_out = nn.Conv2d(channels[0], config.OutChannels, 3, padding: 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var h = conv_in.forward(latents);
        h = mid_block.forward(h, null);
        foreach (var block in up_blocks) h = block.forward(h, null);
        h = conv_out.forward(conv_act.forward(conv_norm_out.forward(h)));
        return scope.MoveToOuter(h);
    }
}
