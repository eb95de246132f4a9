using SeLoRA.Diffusion.Tokenization;

namespace SeLoRA.Data.Preprocessing;

/// <summary>Prompts as fixed-length token ids, and how many of them lost tokens to truncation.</summary>
/// <param name="Batch">Ids [B, MaxLength] and one truncation report per prompt.</param>
/// <param name="TruncatedCount">Prompts in this batch that were cut to fit.</param>
public sealed record TokenizedPrompts(TokenizedBatch Batch, int TruncatedCount)
{
    public long[,] InputIds => Batch.InputIds;
}
