using System.Text.Json;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.TestSupport;

namespace SeLoRA.Diffusion.Tests.Models.Clip;

public class ClipTextConfigTests
{
    [Fact]
    public void Sd15_config_json_reads_as_the_large_text_tower_with_legacy_token_ids()
    {
        var config = ClipTextConfig.FromJson(RepoPaths.RequireShared("sd15/text_encoder.config.json"));
        Assert.Equal(ClipTextConfig.Sd15, config);
        Assert.Equal(768, config.HiddenSize);
        Assert.Equal(3072, config.IntermediateSize);
        Assert.Equal(12, config.NumHiddenLayers);
        Assert.Equal(12, config.NumAttentionHeads);
        Assert.Equal(64, config.HeadDim);
        Assert.Equal("quick_gelu", config.HiddenAct);
        Assert.Equal(2, config.EosTokenId);
        Assert.True(config.UsesLegacyEosPooling);
    }

    [Fact]
    public void Tiny_config_json_reads_its_values()
    {
        var config = ClipTextConfig.FromJson(RepoPaths.RequireShared("fixtures/tiny-sd-models/tiny_clip_text/config.json"));
        Assert.Equal(1000, config.VocabSize);
        Assert.Equal(32, config.HiddenSize);
        Assert.Equal(128, config.IntermediateSize);
        Assert.Equal(3, config.NumHiddenLayers);
        Assert.Equal(4, config.NumAttentionHeads);
        Assert.Equal(77, config.MaxPositionEmbeddings);
        Assert.Equal(1e-5, config.LayerNormEps);
        Assert.Equal((998, 999, 999), (config.BosTokenId, config.EosTokenId, config.PadTokenId));
        Assert.False(config.UsesLegacyEosPooling);
    }

    [Fact]
    public void Absent_fields_take_transformers_defaults_and_a_nested_text_config_is_read()
    {
        using var empty = JsonDocument.Parse("{}");
        Assert.Equal(new ClipTextConfig(), ClipTextConfig.FromJson(empty.RootElement));
        var defaults = new ClipTextConfig();
        Assert.Equal((49408L, 512L, 2048L, 12, 8L, 77L), (defaults.VocabSize, defaults.HiddenSize, defaults.IntermediateSize,
            defaults.NumHiddenLayers, defaults.NumAttentionHeads, defaults.MaxPositionEmbeddings));
        Assert.Equal((1L, 49406L, 49407L), (defaults.PadTokenId, defaults.BosTokenId, defaults.EosTokenId));

        using var nested = JsonDocument.Parse("""{"text_config": {"hidden_size": 64, "num_attention_heads": 2}, "projection_dim": 8}""");
        var config = ClipTextConfig.FromJson(nested.RootElement);
        Assert.Equal((64L, 2L), (config.HiddenSize, config.NumAttentionHeads));
    }

    [Theory]
    [InlineData("""{"hidden_act": "swish"}""", "hidden_act")]
    [InlineData("""{"hidden_size": 30, "num_attention_heads": 4}""", "num_attention_heads")]
    [InlineData("""{"vocab_size": "many"}""", "vocab_size")]
    [InlineData("""{"num_hidden_layers": 0}""", "num_hidden_layers")]
    public void Bad_values_are_rejected_naming_the_field(string json, string field)
    {
        using var document = JsonDocument.Parse(json);
        var error = Assert.Throws<FormatException>(() => ClipTextConfig.FromJson(document.RootElement, "my/config.json"));
        Assert.Contains(field, error.Message);
        Assert.Contains("my/config.json", error.Message);
    }
}
