using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>Attention</c> with the default processor (AttnProcessor2_0): multi-head attention over 3-D
/// [B, N, C] or 4-D [B, C, H, W] input (the latter flattened to tokens and restored). Covers the U-Net form
/// (no q/k/v bias) and the VAE mid-block form (group_norm, biases, residual connection, rescale factor).
/// A null context means self-attention on the (group-normed) input itself.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly GroupNorm? group_norm;
    private readonly nn.Module<Tensor, Tensor> to_q;
    private readonly nn.Module<Tensor, Tensor> to_k;
    private readonly nn.Module<Tensor, Tensor> to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;
#pragma warning restore IDE1006

    public long Heads { get; }
    public long DimHead { get; }
    public long InnerDim { get; }
    public double Scale { get; }
    public bool UpcastAttention { get; }
    public bool UpcastSoftmax { get; }
    public bool ResidualConnection { get; }
    public double RescaleOutputFactor { get; }

    public Attention(long queryDim, long? crossAttentionDim = null, long heads = 8, long dimHead = 64, double dropout = 0.0,
        bool bias = false, bool upcastAttention = false, bool upcastSoftmax = false, long? normNumGroups = null,
        bool outBias = true, bool scaleQk = true, double eps = 1e-5, double rescaleOutputFactor = 1.0,
        bool residualConnection = false, long? outDim = null, Device? device = null)
        : base(nameof(Attention))
    {
        InnerDim = outDim ?? dimHead * heads;
        Heads = outDim is { } o ? o / dimHead : heads;
        DimHead = dimHead;
        Scale = scaleQk ? Math.Pow(dimHead, -0.5) : 1.0;
        UpcastAttention = upcastAttention;
        UpcastSoftmax = upcastSoftmax;
        ResidualConnection = residualConnection;
        RescaleOutputFactor = rescaleOutputFactor;
        var contextDim = crossAttentionDim ?? queryDim;

        group_norm = normNumGroups is { } groups ? NormLayers.GroupNorm(groups, queryDim, eps, affine: true, device: device) : null;
        to_q = nn.Linear(queryDim, InnerDim, hasBias: bias, device: device);
        to_k = nn.Linear(contextDim, InnerDim, hasBias: bias, device: device);
        to_v = nn.Linear(contextDim, InnerDim, hasBias: bias, device: device);
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            nn.Linear(InnerDim, outDim ?? queryDim, hasBias: outBias, device: device),
            nn.Dropout(dropout));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        var residual = hiddenStates;
        var inputNdim = hiddenStates.dim();
        long channels = 0, height = 0, width = 0;
        var x = hiddenStates;
        if (inputNdim == 4)
        {
            channels = x.shape[1]; height = x.shape[2]; width = x.shape[3];
            x = x.view(x.shape[0], channels, height * width).transpose(1, 2);
        }
        else if (inputNdim != 3)
        {
            throw new ArgumentException($"Attention expects [B, N, C] or [B, C, H, W], got [{string.Join(", ", x.shape)}].");
        }
        var batch = x.shape[0];

        if (group_norm is not null)
            x = group_norm.forward(x.transpose(1, 2)).transpose(1, 2);

        var context = encoderHiddenStates ?? x;
        var query = to_q.forward(x);
        var key = to_k.forward(context);
        var value = to_v.forward(context);

        var innerDim = key.shape[^1];
        var headDim = innerDim / Heads;
        query = query.view(batch, -1, Heads, headDim).transpose(1, 2);
        key = key.view(batch, -1, Heads, headDim).transpose(1, 2);
        value = value.view(batch, -1, Heads, headDim).transpose(1, 2);

        var attended = Attend(query, key, value, headDim);
        attended = attended.transpose(1, 2).reshape(batch, -1, Heads * headDim).to_type(query.dtype);

        var output = to_out[0].forward(attended);
        output = to_out[1].forward(output);

        if (inputNdim == 4)
            output = output.transpose(-1, -2).reshape(batch, channels, height, width);
        if (ResidualConnection)
            output = output + residual;
        if (RescaleOutputFactor != 1.0)
            output = output / RescaleOutputFactor;
        return scope.MoveToOuter(output);
    }

    /// <summary>softmax(q k^T * Scale) v over [B, heads, N, d]; the fused kernel whenever its implied scale is ours.</summary>
    private Tensor Attend(Tensor query, Tensor key, Tensor value, long headDim)
    {
        // SDPA scales by 1/sqrt(d) and, on CPU, never materialises the N x N score matrix.
        if (Math.Abs(Scale - 1.0 / Math.Sqrt(headDim)) < 1e-12)
            return nn.functional.scaled_dot_product_attention(query, key, value);

        var upcast = UpcastAttention || UpcastSoftmax;
        var q = upcast ? query.to_type(ScalarType.Float32) : query;
        var k = upcast ? key.to_type(ScalarType.Float32) : key;
        var scores = matmul(q, k.transpose(-1, -2)) * Scale;
        var probs = scores.softmax(-1).to_type(value.dtype);
        return matmul(probs, value);
    }
}
