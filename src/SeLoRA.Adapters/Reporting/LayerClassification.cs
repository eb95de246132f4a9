namespace SeLoRA.Adapters.Reporting;

/// <summary>What the report knows about an adapted layer from its name alone.</summary>
/// <param name="Attention">Self for UNet attn1 and CLIP self_attn layers, cross for UNet attn2, else none.</param>
public sealed record LayerClassification(string Name, ModelComponent Component, LayerKind Kind, AttentionRole Attention, LayerPosition Position);
