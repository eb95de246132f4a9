namespace SeLoRA.Evaluation.Clip;

/// <summary>How prompts longer than the text tower's max_position_embeddings (77) are cut.</summary>
public enum ClipPromptTruncation
{
    /// <summary>
    /// torchmetrics' CLIPScore: the processor pads to the longest prompt (padding=True, no truncation), then input_ids are
    /// sliced to the first 77 tokens, so a long prompt loses its EOS and pools at transformers' fallback position (the
    /// largest id for eos_token_id 2 configs, else position 0). Prompts that fit are unaffected.
    /// </summary>
    TorchMetrics,

    /// <summary>As tokenizers with truncation=True (and OpenAI's clip.tokenize(truncate=True)): BOS, 75 tokens, EOS.</summary>
    KeepEos,
}
