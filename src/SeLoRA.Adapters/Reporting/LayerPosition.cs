namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// Where an adapted layer sits: a column of the paper's Figure 3. Text encoder: the encoder layer. UNet: the block
/// (<c>down_blocks.i</c>, <c>mid_block</c>, <c>up_blocks.i</c>), the unit in it (<c>attentions.j</c> or <c>resnets.j</c>),
/// the transformer block, and within that <c>attn1</c> (self), <c>attn2</c> (cross) or <c>ff</c>.
/// </summary>
/// <param name="Component">Text encoder or UNet.</param>
/// <param name="Key">The module path the layers at this position share, e.g.
/// <c>text_model.encoder.layers.3</c>, <c>down_blocks.1.attentions.0.transformer_blocks.0.attn2</c>, <c>up_blocks.2.resnets.1</c>.</param>
/// <param name="Label">Short column label: <c>3</c> (text layer), <c>d1.a0.cross</c>, <c>mid.r1</c>, <c>u2.a1.ff</c>.</param>
/// <param name="Group">The block the position belongs to (<c>down_blocks.1</c>, <c>mid_block</c>, <c>up_blocks.2</c>,
/// <c>text_model.encoder</c>), or empty outside any block.</param>
/// <param name="GroupLabel">Short group name for figure headings (<c>down 1</c>, <c>mid</c>, <c>up 2</c>, <c>encoder</c>).</param>
/// <param name="TextLayer">Text encoder layer index, when the position is one.</param>
/// <param name="BlockIndex">UNet <c>down_blocks</c>/<c>up_blocks</c> index (null for <c>mid_block</c> and outside blocks).</param>
/// <param name="Unit">UNet unit kind: <c>attentions</c>, <c>resnets</c>, <c>downsamplers</c>, <c>upsamplers</c>, or null.</param>
/// <param name="UnitIndex">Index j of the unit in its block.</param>
/// <param name="TransformerBlock">Index k of <c>transformer_blocks.k</c>, when inside one.</param>
/// <param name="Attention">UNet positions: self (attn1), cross (attn2); none otherwise (a text encoder layer holds both
/// its attention and its MLP).</param>
public sealed record LayerPosition(
    ModelComponent Component,
    string Key,
    string Label,
    string Group,
    string GroupLabel,
    int? TextLayer,
    int? BlockIndex,
    string? Unit,
    int? UnitIndex,
    int? TransformerBlock,
    AttentionRole Attention) : IComparable<LayerPosition>
{
    /// <summary>Forward-pass order: text encoder, then UNet down, mid, up; within a block resnet j, attention j, ...</summary>
    internal (int Component, int Section, int Block, int Unit, int UnitType, int Transformer, int Sub) Order { get; init; }

    /// <summary>Model (forward-pass) order, ties broken by key.</summary>
    public int CompareTo(LayerPosition? other)
    {
        if (other is null) return 1;
        var byOrder = Order.CompareTo(other.Order);
        return byOrder != 0 ? byOrder : string.CompareOrdinal(Key, other.Key);
    }
}
