using SeLoRA.Torch;
using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>transformers' CLIPTextTransformer: embeddings, causal pre-LN encoder, final_layer_norm, EOS pooling.</summary>
public sealed class ClipTextTransformer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    ClipTextEmbeddings embeddings;
    ClipEncoder encoder;
    LayerNorm final_layer_norm;
#pragma warning restore IDE1006

    public ClipTextTransformer(ClipTextConfig config) : base(nameof(ClipTextTransformer))
    {
        TorchRuntime.EnsureLoaded();
        config.Validate();
        Config = config;
        embeddings = new ClipTextEmbeddings(config);
        encoder = new ClipEncoder(config);
        final_layer_norm = NormLayers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public ClipTextConfig Config { get; }

    public ClipTextEmbeddings Embeddings => embeddings;

    public ClipEncoder Encoder => encoder;

    public LayerNorm FinalLayerNorm => final_layer_norm;

    /// <summary>[batch, seq] ids -> last_hidden_state [batch, seq, hidden] (no pooling work).</summary>
    public override Tensor forward(Tensor inputIds) => Encode(inputIds, null, null);

    /// <param name="inputIds">[batch, seq] token ids (more leading dimensions are flattened into batch, as upstream).</param>
    /// <param name="attentionMask">Optional [batch, seq] padding mask, 1 = attend, 0 = masked key; combined with the causal
    /// mask. Stable Diffusion passes none.</param>
    /// <param name="outputHiddenStates">Also return the embeddings and each layer's output.</param>
    public ClipTextOutput Forward(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false)
    {
        using var scope = NewDisposeScope();
        var ids = FlattenIds(inputIds);
        var hiddenStates = outputHiddenStates ? new List<Tensor>() : null;
        var last = Encode(ids, attentionMask, hiddenStates);
        var pooled = Pool(last, ids);
        if (hiddenStates is not null)
            foreach (var tensor in hiddenStates) scope.MoveToOuter(tensor);
        return new ClipTextOutput(scope.MoveToOuter(last), scope.MoveToOuter(pooled), hiddenStates);
    }

    Tensor Encode(Tensor inputIds, Tensor? attentionMask, List<Tensor>? hiddenStates)
    {
        using var scope = NewDisposeScope();
        var ids = FlattenIds(inputIds);
        var hidden = embeddings.call(ids);
        var allowed = AllowedMask(ids, attentionMask);
        hidden = encoder.Forward(hidden, allowed, hiddenStates);
        if (hiddenStates is not null)
            foreach (var tensor in hiddenStates) scope.MoveToOuter(tensor);
        var last = final_layer_norm.call(hidden);
        return scope.MoveToOuter(last);
    }

    static Tensor FlattenIds(Tensor inputIds)
    {
        if (inputIds.dim() < 1) throw new ArgumentException("input_ids must have at least one dimension [.., seq].", nameof(inputIds));
        if (inputIds.dtype is not (ScalarType.Int64 or ScalarType.Int32))
            throw new ArgumentException($"input_ids must be int64 (or int32) token ids, got {inputIds.dtype}.", nameof(inputIds));
        var ids = inputIds.dtype == ScalarType.Int64 ? inputIds.alias() : inputIds.to(ScalarType.Int64);
        return ids.dim() == 2 ? ids : ids.view(-1, inputIds.shape[^1]);
    }

    /// <summary>[batch or 1, 1, seq, seq] booleans: query i may see key j when j &lt;= i and key j is not padding.</summary>
    static Tensor AllowedMask(Tensor ids, Tensor? attentionMask)
    {
        var batch = ids.shape[0];
        var seq = ids.shape[1];
        var allowed = ones(seq, seq, ScalarType.Bool, ids.device).tril().view(1, 1, seq, seq);
        if (attentionMask is null) return allowed;
        if (attentionMask.numel() != batch * seq)
            throw new ArgumentException(
                $"attention_mask must have shape [{batch}, {seq}] like input_ids, got [{string.Join(", ", attentionMask.shape)}].",
                nameof(attentionMask));
        var keys = attentionMask.reshape(batch, 1, 1, seq).to(ids.device).ne(0);
        return allowed.logical_and(keys);
    }

    /// <summary>
    /// The hidden state at each row's EOS token. Legacy configs (eos_token_id 2, SD1.5) take the argmax of the ids,
    /// as transformers does for them (EOS 49407 is the largest id); others take the first position equal to
    /// eos_token_id (pad may equal eos, so the first one counts).
    /// </summary>
    Tensor Pool(Tensor last, Tensor ids)
    {
        using var scope = NewDisposeScope();
        var positions = Config.UsesLegacyEosPooling
            ? ids.argmax(-1)
            : ids.eq(Config.EosTokenId).to(ScalarType.Int32).argmax(-1);
        var batch = last.shape[0];
        var hiddenSize = last.shape[2];
        var index = positions.to(last.device).view(batch, 1, 1).expand(batch, 1, hiddenSize);
        var pooled = last.gather(1, index).squeeze(1);
        return scope.MoveToOuter(pooled);
    }
}
