namespace SeLoRA.Diffusion.Tokenization;

/// <summary>What padding/truncation to a fixed length did to one prompt of a batch.</summary>
/// <param name="OriginalTokenCount">Tokens before truncation, BOS and EOS included (the length of Encode(text)).</param>
/// <param name="DroppedTokenCount">Content tokens cut off to fit; 0 when the prompt fitted.</param>
/// <param name="DroppedText">The cut-off tokens decoded (for a warning like diffusers'), or null when none were cut.</param>
public sealed record PromptTruncation(int OriginalTokenCount, int DroppedTokenCount, string? DroppedText)
{
    public bool WasTruncated => DroppedTokenCount > 0;
}
