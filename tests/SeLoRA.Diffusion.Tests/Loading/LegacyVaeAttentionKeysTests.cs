using SeLoRA.Diffusion.Loading;
using SeLoRA.TestSupport;

namespace SeLoRA.Diffusion.Tests.Loading;

public sealed class LegacyVaeAttentionKeysTests
{
    [Fact]
    public void Every_on_disk_fp32_vae_key_maps_onto_exactly_the_current_key_set()
    {
        var onDisk = ReferenceKeys.Read(RepoPaths.RequireShared("sd15/vae.keys.ondisk-fp32.tsv"));
        var current = ReferenceKeys.Read(RepoPaths.RequireShared("sd15/vae.keys.tsv"));
        Assert.Equal(248, onDisk.Count);
        var mapped = onDisk.ToDictionary(kv => LegacyVaeAttentionKeys.MapKey(kv.Key), kv => kv.Value, StringComparer.Ordinal);
        Assert.Equal(onDisk.Count, mapped.Count);
        Assert.Equal(current.Keys.Order(StringComparer.Ordinal), mapped.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, shape) in current) Assert.Equal(shape, mapped[k]);
        Assert.Equal(16, onDisk.Keys.Count(k => LegacyVaeAttentionKeys.MapKey(k) != k));
    }

    [Theory]
    [InlineData("encoder.mid_block.attentions.0.query.weight", "encoder.mid_block.attentions.0.to_q.weight")]
    [InlineData("decoder.mid_block.attentions.0.proj_attn.bias", "decoder.mid_block.attentions.0.to_out.0.bias")]
    [InlineData("decoder.mid_block.attentions.0.group_norm.bias", "decoder.mid_block.attentions.0.group_norm.bias")]
    [InlineData("text_model.encoder.layers.0.self_attn.k_proj.weight", "text_model.encoder.layers.0.self_attn.k_proj.weight")]
    [InlineData("down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_k.weight", "down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_k.weight")]
    public void Maps_only_deprecated_attention_names(string key, string expected) =>
        Assert.Equal(expected, LegacyVaeAttentionKeys.MapKey(key));
}
