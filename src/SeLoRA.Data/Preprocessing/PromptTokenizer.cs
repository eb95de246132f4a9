using SeLoRA.Diffusion.Tokenization;

namespace SeLoRA.Data.Preprocessing;

/// <summary>
/// Tokenises captions for training as the diffusers scripts do (padding="max_length", truncation=True, 77 for SD1.5) and
/// keeps a running count of truncated prompts so a run can report how many captions lost text. Thread-safe.
/// </summary>
public sealed class PromptTokenizer
{
    readonly ClipTokenizer tokenizer;
    long totalPrompts;
    long totalTruncated;

    public PromptTokenizer(ClipTokenizer tokenizer, int? maxLength = null)
    {
        this.tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        MaxLength = maxLength ?? tokenizer.MaxLength;
        if (MaxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), MaxLength, "must leave room for BOS and EOS");
    }

    public int MaxLength { get; }

    /// <summary>Prompts tokenised so far.</summary>
    public long TotalPrompts => Interlocked.Read(ref totalPrompts);

    /// <summary>Prompts truncated so far.</summary>
    public long TotalTruncated => Interlocked.Read(ref totalTruncated);

    public TokenizedPrompts Tokenize(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var batch = tokenizer.EncodeBatch(prompts, MaxLength);
        int truncated = batch.Truncations.Count(t => t.WasTruncated);
        Interlocked.Add(ref totalPrompts, prompts.Count);
        Interlocked.Add(ref totalTruncated, truncated);
        return new TokenizedPrompts(batch, truncated);
    }
}
