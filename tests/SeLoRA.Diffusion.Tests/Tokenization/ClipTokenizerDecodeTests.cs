namespace SeLoRA.Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerDecodeTests
{
    [Theory]
    [InlineData("A Photo of an Astronaut riding a HORSE on Mars", "a photo of an astronaut riding a horse on mars")]
    [InlineData("Café naïve résumé, 東京 🚀", "café naïve résumé , 東京 🚀")]
    public void Decode_round_trips_lower_cased_text(string prompt, string expected)
    {
        var tokenizer = Sd15Tokenizer.Get();
        Assert.Equal(expected, tokenizer.Decode(tokenizer.Encode(prompt)));
    }

    [Fact]
    public void Decode_can_keep_special_tokens_and_skips_padding()
    {
        var tokenizer = Sd15Tokenizer.Get();
        var ids = tokenizer.Encode("a cat");
        Assert.Equal("<|startoftext|>a cat <|endoftext|>", tokenizer.Decode(ids, skipSpecialTokens: false));
        var padded = tokenizer.EncodeBatch(["a cat"]).Row(0).Select(id => (int)id);
        Assert.Equal("a cat", tokenizer.Decode(padded));
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sd15Tokenizer.Get().Decode([49408]));
    }
}
