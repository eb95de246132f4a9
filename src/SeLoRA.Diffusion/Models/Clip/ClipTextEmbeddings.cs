using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>transformers' CLIPTextEmbeddings: token embedding plus learned absolute position embedding.</summary>
public sealed class ClipTextEmbeddings : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    Embedding token_embedding;
    Embedding position_embedding;
#pragma warning restore IDE1006

    public ClipTextEmbeddings(ClipTextConfig config) : base(nameof(ClipTextEmbeddings))
    {
        token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        // Non-persistent, as upstream: absent from state_dict(), though 2022-era files still carry it.
        register_buffer("position_ids", arange(config.MaxPositionEmbeddings, dtype: ScalarType.Int64).unsqueeze(0), persistent: false);
        RegisterComponents();
    }

    public Embedding TokenEmbedding => token_embedding;

    public Embedding PositionEmbedding => position_embedding;

    /// <summary>[batch, seq] token ids -> [batch, seq, hidden].</summary>
    public override Tensor forward(Tensor inputIds)
    {
        var seqLength = inputIds.shape[^1];
        var maxPositions = position_embedding.weight!.shape[0];
        if (seqLength > maxPositions)
            throw new ArgumentException(
                $"Sequence length must be at most max_position_embeddings: got {seqLength}, max_position_embeddings is {maxPositions}.",
                nameof(inputIds));

        using var scope = NewDisposeScope();
        var positionIds = get_buffer("position_ids")![.., ..(int)seqLength].to(inputIds.device);
        var embeddings = token_embedding.call(inputIds) + position_embedding.call(positionIds);
        return scope.MoveToOuter(embeddings);
    }
}
