using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>
/// transformers' CLIPAttention (eager path): multi-head self-attention with biased q/k/v/out projections,
/// queries scaled by head_dim^-0.5, softmax in float32.
/// </summary>
public sealed class ClipAttention : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    // Typed as Module and not readonly, so adapters can swap in wrappers by name; always called through the field.
    nn.Module<Tensor, Tensor> k_proj;
    nn.Module<Tensor, Tensor> v_proj;
    nn.Module<Tensor, Tensor> q_proj;
    nn.Module<Tensor, Tensor> out_proj;
#pragma warning restore IDE1006

    readonly long numHeads;
    readonly long headDim;
    readonly double scale;
    readonly double dropout;

    public ClipAttention(ClipTextConfig config) : base(nameof(ClipAttention))
    {
        var embedDim = config.HiddenSize;
        numHeads = config.NumAttentionHeads;
        headDim = embedDim / numHeads;
        if (headDim * numHeads != embedDim)
            throw new ArgumentException($"hidden_size {embedDim} must be divisible by num_attention_heads {numHeads}.", nameof(config));
        scale = Math.Pow(headDim, -0.5);
        dropout = config.AttentionDropout;

        // Same construction order as upstream (k, v, q, out), so seeded initialisation lines up.
        k_proj = nn.Linear(embedDim, embedDim);
        v_proj = nn.Linear(embedDim, embedDim);
        q_proj = nn.Linear(embedDim, embedDim);
        out_proj = nn.Linear(embedDim, embedDim);
        RegisterComponents();
    }

    /// <param name="hiddenStates">[batch, seq, hidden].</param>
    /// <param name="allowed">Boolean mask broadcastable to [batch, heads, seq, seq]; true where a query may attend
    /// to a key. Null attends everywhere.</param>
    public override Tensor forward(Tensor hiddenStates, Tensor? allowed)
    {
        using var scope = NewDisposeScope();
        var batch = hiddenStates.shape[0];
        var seq = hiddenStates.shape[1];

        var queries = q_proj.call(hiddenStates).view(batch, seq, -1, headDim).transpose(1, 2);
        var keys = k_proj.call(hiddenStates).view(batch, seq, -1, headDim).transpose(1, 2);
        var values = v_proj.call(hiddenStates).view(batch, seq, -1, headDim).transpose(1, 2);

        var weights = matmul(queries, keys.transpose(-1, -2)) * scale;
        if (allowed is not null)
            // The dtype's lowest finite value, like transformers' masks: a fully masked row stays finite (uniform), not NaN.
            weights = weights.masked_fill(allowed.logical_not(), finfo(weights.dtype).min);
        weights = nn.functional.softmax(weights, -1, ScalarType.Float32).to(queries.dtype);
        if (dropout > 0 && training)
            weights = nn.functional.dropout(weights, dropout, training: true);

        var output = matmul(weights, values).transpose(1, 2).reshape(batch, seq, -1);
        output = out_proj.call(output);
        return scope.MoveToOuter(output);
    }
}
