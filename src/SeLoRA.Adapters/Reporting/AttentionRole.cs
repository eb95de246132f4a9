namespace SeLoRA.Adapters.Reporting;

/// <summary>Whether a layer sits in a self-attention (UNet <c>attn1</c>, CLIP <c>self_attn</c>) or a cross-attention (UNet <c>attn2</c>).</summary>
public enum AttentionRole
{
    None,
    Self,
    Cross,
}
