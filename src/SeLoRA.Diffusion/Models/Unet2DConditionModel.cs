using SeLoRA.Diffusion.Models.Blocks;
using SeLoRA.Torch;
using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models;

/// <summary>
/// diffusers <c>UNet2DConditionModel</c> (v0.24) for the SD1.x/2.x layout: conv_in -> down blocks (collecting skip
/// states) -> mid block -> up blocks (consuming them) -> GroupNorm, SiLU, conv_out, conditioned on a sinusoidal
/// timestep embedding and cross-attention context. state_dict() keys equal the diffusers checkpoint keys.
/// </summary>
public sealed class Unet2DConditionModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> conv_in;
    private readonly Timesteps time_proj;
    private readonly TimestepEmbedding time_embedding;
    private readonly ModuleList<nn.Module<Tensor, Tensor?, Tensor?, (Tensor Hidden, Tensor[] Residuals)>> down_blocks;
    private readonly ModuleList<nn.Module<Tensor, Tensor[], Tensor?, Tensor?, long[]?, Tensor>> up_blocks;
    private readonly nn.Module<Tensor, Tensor?, Tensor?, Tensor>? mid_block;
    private readonly nn.Module<Tensor, Tensor> conv_norm_out;
    private readonly nn.Module<Tensor, Tensor> conv_act;
    private readonly nn.Module<Tensor, Tensor> conv_out;
#pragma warning restore IDE1006

    private readonly int[] upBlockResnets;

    public Unet2DConditionConfig Config { get; }

    /// <summary>How many up blocks upsample; inputs whose H or W is not a multiple of 2^this get explicit upsample sizes.</summary>
    public int NumUpsamplers { get; }

    /// <param name="device">Where to allocate the parameters; <c>torch.META</c> builds the structure without memory.</param>
    public Unet2DConditionModel(Unet2DConditionConfig config, Device? device = null) : base(nameof(Unet2DConditionModel))
    {
        TorchRuntime.EnsureLoaded();
        config.Validate();
        Config = config;
        var channels = config.BlockOutChannels;
        var n = channels.Count;
        var heads = config.HeadsPerBlock;
        var groups = config.NormNumGroups;

        conv_in = nn.Conv2d(config.InChannels, channels[0], kernel_size: config.ConvInKernel,
            padding: (config.ConvInKernel - 1) / 2, device: device);

        var timeEmbedDim = config.TimeEmbeddingDim ?? channels[0] * 4;
        time_proj = new Timesteps(channels[0], config.FlipSinToCos, config.FreqShift);
        time_embedding = new TimestepEmbedding(channels[0], timeEmbedDim, config.ActFn, device: device);

        var down = new List<nn.Module<Tensor, Tensor?, Tensor?, (Tensor Hidden, Tensor[] Residuals)>>();
        var outputChannel = channels[0];
        for (var i = 0; i < n; i++)
        {
            var inputChannel = outputChannel;
            outputChannel = channels[i];
            var isFinal = i == n - 1;
            down.Add(config.DownBlockTypes[i] switch
            {
                "CrossAttnDownBlock2D" => new CrossAttnDownBlock2D(inputChannel, outputChannel, timeEmbedDim, config.Dropout,
                    (int)config.LayersPerBlock[i], config.TransformerLayersPerBlock[i], config.NormEps,
                    config.ResnetTimeScaleShift, config.ActFn, groups, heads[i], config.CrossAttentionDim[i],
                    downsamplePadding: config.DownsamplePadding, addDownsample: !isFinal,
                    useLinearProjection: config.UseLinearProjection, onlyCrossAttention: config.OnlyCrossAttention[i],
                    upcastAttention: config.UpcastAttention, device: device),
                _ => new DownBlock2D(inputChannel, outputChannel, timeEmbedDim, config.Dropout, (int)config.LayersPerBlock[i],
                    config.NormEps, config.ResnetTimeScaleShift, config.ActFn, groups, addDownsample: !isFinal,
                    downsamplePadding: config.DownsamplePadding, device: device),
            });
        }
        down_blocks = nn.ModuleList(down.ToArray());

        if (config.MidBlockType is not null)
            mid_block = new UNetMidBlock2DCrossAttn(channels[^1], timeEmbedDim, config.Dropout, 1,
                config.TransformerLayersPerBlock[^1], config.NormEps, config.ResnetTimeScaleShift, config.ActFn, groups,
                heads[^1], config.MidBlockScaleFactor, config.CrossAttentionDim[^1], config.UseLinearProjection,
                config.UpcastAttention, device);

        var up = new List<nn.Module<Tensor, Tensor[], Tensor?, Tensor?, long[]?, Tensor>>();
        upBlockResnets = new int[n];
        outputChannel = channels[^1];
        for (var i = 0; i < n; i++)
        {
            var r = n - 1 - i; // the matching down level
            var isFinal = i == n - 1;
            var prevOutputChannel = outputChannel;
            outputChannel = channels[r];
            var inputChannel = channels[Math.Max(r - 1, 0)];
            var layers = (int)config.LayersPerBlock[r] + 1;
            if (!isFinal) NumUpsamplers++;
            upBlockResnets[i] = layers;
            up.Add(config.UpBlockTypes[i] switch
            {
                "CrossAttnUpBlock2D" => new CrossAttnUpBlock2D(inputChannel, outputChannel, prevOutputChannel, timeEmbedDim,
                    config.Dropout, layers, config.TransformerLayersPerBlock[r], config.NormEps, config.ResnetTimeScaleShift,
                    config.ActFn, groups, heads[r], config.CrossAttentionDim[r], addUpsample: !isFinal,
                    useLinearProjection: config.UseLinearProjection, onlyCrossAttention: config.OnlyCrossAttention[r],
                    upcastAttention: config.UpcastAttention, device: device),
                _ => new UpBlock2D(inputChannel, prevOutputChannel, outputChannel, timeEmbedDim, config.Dropout, layers,
                    config.NormEps, config.ResnetTimeScaleShift, config.ActFn, groups, addUpsample: !isFinal, device: device),
            });
        }
        up_blocks = nn.ModuleList(up.ToArray());

        conv_norm_out = NormLayers.GroupNorm(groups, channels[0], config.NormEps, affine: true, device: device);
        conv_act = Activations.Get(config.ActFn);
        conv_out = nn.Conv2d(channels[0], config.OutChannels, kernel_size: config.ConvOutKernel,
            padding: (config.ConvOutKernel - 1) / 2, device: device);
        RegisterComponents();
    }

    /// <param name="sample">Noisy latents [B, in_channels, H, W].</param>
    /// <param name="timestep">A scalar (broadcast to the batch) or one value per sample [B]; integer or float.</param>
    /// <param name="encoderHiddenStates">Cross-attention context [B, L, cross_attention_dim] (CLIP last_hidden_state).</param>
    /// <returns>The predicted noise [B, out_channels, H, W].</returns>
    public override Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates)
    {
        if (sample.dim() != 4)
            throw new ArgumentException($"sample must be [B, C, H, W], got [{string.Join(", ", sample.shape)}].", nameof(sample));
        var batch = sample.shape[0];
        if (timestep.dim() > 1 || (timestep.dim() == 1 && timestep.shape[0] != batch && timestep.shape[0] != 1))
            throw new ArgumentException(
                $"timestep must be a scalar or have one value per sample ({batch}), got [{string.Join(", ", timestep.shape)}].",
                nameof(timestep));

        using var scope = NewDisposeScope();
        var upFactor = 1L << NumUpsamplers;
        var forwardUpsampleSize = sample.shape[2] % upFactor != 0 || sample.shape[3] % upFactor != 0;

        var timesteps = (timestep.dim() == 0 ? timestep.unsqueeze(0) : timestep).to(sample.device).expand(batch);
        var tEmb = time_proj.forward(timesteps).to_type(sample.dtype);
        var emb = time_embedding.forward(tEmb);

        var h = Config.CenterInputSample ? sample * 2.0 - 1.0 : sample;
        h = conv_in.forward(h);

        var skips = new List<Tensor> { h };
        foreach (var block in down_blocks)
        {
            var (hidden, residuals) = block.forward(h, emb, encoderHiddenStates);
            h = hidden;
            skips.AddRange(residuals);
        }

        if (mid_block is not null)
            h = mid_block.forward(h, emb, encoderHiddenStates);

        for (var i = 0; i < up_blocks.Count; i++)
        {
            var count = upBlockResnets[i];
            var residuals = skips.GetRange(skips.Count - count, count).ToArray();
            skips.RemoveRange(skips.Count - count, count);
            var isFinal = i == up_blocks.Count - 1;
            long[]? upsampleSize = !isFinal && forwardUpsampleSize ? skips[^1].shape[2..] : null;
            var next = up_blocks[i].forward(h, residuals, emb, encoderHiddenStates, upsampleSize);
            // Skip states are dead once consumed; free them now rather than at the end of the pass.
            foreach (var used in residuals) used.Dispose();
            h = next;
        }

        h = conv_norm_out.forward(h);
        h = conv_act.forward(h);
        h = conv_out.forward(h);
        return scope.MoveToOuter(h);
    }
}
