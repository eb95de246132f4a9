using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>Transformer2DModel</c> for continuous [B, C, H, W] input: GroupNorm(eps 1e-6) -> proj_in (1x1 conv, or
/// Linear with <c>useLinearProjection</c>) -> tokens -> BasicTransformerBlocks -> proj_out -> + input.
/// </summary>
public sealed class Transformer2DModel : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> norm;
    private readonly nn.Module<Tensor, Tensor> proj_in;
    private readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    private readonly nn.Module<Tensor, Tensor> proj_out;
#pragma warning restore IDE1006

    public bool UseLinearProjection { get; }

    public Transformer2DModel(long numAttentionHeads = 16, long attentionHeadDim = 88, long? inChannels = null,
        long numLayers = 1, double dropout = 0.0, long normNumGroups = 32, long? crossAttentionDim = null,
        bool attentionBias = false, bool useLinearProjection = false, bool onlyCrossAttention = false,
        bool doubleSelfAttention = false, bool upcastAttention = false, bool normElementwiseAffine = true,
        double normEps = 1e-5, Device? device = null)
        : base(nameof(Transformer2DModel))
    {
        var channels = inChannels ?? throw new NotSupportedException(
            "Transformer2DModel: only continuous input is supported, so inChannels is required.");
        UseLinearProjection = useLinearProjection;
        var innerDim = numAttentionHeads * attentionHeadDim;
        norm = NormLayers.GroupNorm(normNumGroups, channels, 1e-6, affine: true, device: device);
        proj_in = useLinearProjection
            ? nn.Linear(channels, innerDim, device: device)
            : nn.Conv2d(channels, innerDim, kernel_size: 1, stride: 1, padding: 0L, device: device);
        var blocks = new BasicTransformerBlock[numLayers];
        for (var d = 0; d < numLayers; d++)
            blocks[d] = new BasicTransformerBlock(innerDim, numAttentionHeads, attentionHeadDim, dropout, crossAttentionDim,
                "geglu", attentionBias, onlyCrossAttention, doubleSelfAttention, upcastAttention, normElementwiseAffine,
                normEps, device);
        transformer_blocks = nn.ModuleList(blocks);
        proj_out = useLinearProjection
            ? nn.Linear(innerDim, channels, device: device)
            : nn.Conv2d(innerDim, channels, kernel_size: 1, stride: 1, padding: 0L, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], height = hiddenStates.shape[2], width = hiddenStates.shape[3];
        var h = norm.forward(hiddenStates);
        long innerDim;
        if (!UseLinearProjection)
        {
            h = proj_in.forward(h);
            innerDim = h.shape[1];
            h = h.permute(0, 2, 3, 1).reshape(batch, height * width, innerDim);
        }
        else
        {
            innerDim = h.shape[1];
            h = h.permute(0, 2, 3, 1).reshape(batch, height * width, innerDim);
            h = proj_in.forward(h);
        }

        foreach (var block in transformer_blocks)
            h = block.forward(h, encoderHiddenStates);

        if (!UseLinearProjection)
        {
            h = h.reshape(batch, height, width, innerDim).permute(0, 3, 1, 2).contiguous();
            h = proj_out.forward(h);
        }
        else
        {
            h = proj_out.forward(h);
            h = h.reshape(batch, height, width, innerDim).permute(0, 3, 1, 2).contiguous();
        }
        var output = h + hiddenStates;
        return scope.MoveToOuter(output);
    }
}
