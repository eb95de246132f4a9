namespace SeLoRA.Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerBatchTests
{
    const int Bos = 49406, Eos = 49407, Cat = 2368;

    [Fact]
    public void Long_prompt_is_truncated_to_77_with_eos_last_and_reported()
    {
        var tokenizer = Sd15Tokenizer.Get();
        var prompt = string.Join(" ", Enumerable.Repeat("cat", 100));
        var batch = tokenizer.EncodeBatch([prompt]);

        Assert.Equal(1, batch.BatchSize);
        Assert.Equal(77, batch.SequenceLength);
        var row = batch.Row(0);
        Assert.Equal(Bos, row[0]);
        Assert.All(row[1..76], id => Assert.Equal(Cat, id));
        Assert.Equal(Eos, row[76]);

        var report = batch.Truncations[0];
        Assert.True(report.WasTruncated);
        Assert.Equal(102, report.OriginalTokenCount);
        Assert.Equal(25, report.DroppedTokenCount);
        Assert.Equal(string.Join(" ", Enumerable.Repeat("cat", 25)), report.DroppedText);
        Assert.True(batch.AnyTruncated);
    }

    [Theory]
    [InlineData(75, 0)]
    [InlineData(76, 1)]
    public void Boundary_of_75_content_tokens(int words, int dropped)
    {
        var batch = Sd15Tokenizer.Get().EncodeBatch([string.Join(" ", Enumerable.Repeat("cat", words))]);
        Assert.Equal(dropped, batch.Truncations[0].DroppedTokenCount);
        Assert.Equal(words + 2, batch.Truncations[0].OriginalTokenCount);
        Assert.Equal(Eos, batch.InputIds[0, 76]);
        Assert.Equal(Cat, batch.InputIds[0, 75]);
    }

    [Fact]
    public void Short_prompts_are_padded_with_the_pad_id()
    {
        var tokenizer = Sd15Tokenizer.Get();
        Assert.Equal(Eos, tokenizer.PadId);
        var batch = tokenizer.EncodeBatch(["a photo of a cat", ""]);

        Assert.Equal(2, batch.BatchSize);
        long[] cat = [Bos, 320, 1125, 539, 320, 2368, Eos, .. Enumerable.Repeat((long)Eos, 70)];
        Assert.Equal(cat, batch.Row(0));
        long[] empty = [Bos, .. Enumerable.Repeat((long)Eos, 76)];
        Assert.Equal(empty, batch.Row(1));
        Assert.All(batch.Truncations, t => Assert.False(t.WasTruncated));
        Assert.Equal(7, batch.Truncations[0].OriginalTokenCount);
        Assert.Null(batch.Truncations[0].DroppedText);
        Assert.False(batch.AnyTruncated);
    }

    [Fact]
    public void Custom_max_length_pads_and_truncates_to_it()
    {
        var batch = Sd15Tokenizer.Get().EncodeBatch(["a photo of a cat", "an astronaut riding a horse on mars"], maxLength: 6);
        Assert.Equal(6, batch.SequenceLength);
        Assert.Equal([Bos, 320, 1125, 539, 320, Eos], batch.Row(0));
        Assert.Equal(1, batch.Truncations[0].DroppedTokenCount);
        Assert.Equal("cat", batch.Truncations[0].DroppedText);
        Assert.Equal([Bos, 550, 18376, 6765, 320, Eos], batch.Row(1));
        Assert.Equal(3, batch.Truncations[1].DroppedTokenCount);
        Assert.Equal("horse on mars", batch.Truncations[1].DroppedText);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sd15Tokenizer.Get().EncodeBatch(["x"], maxLength: 1));
    }

    [Fact]
    public void Batch_becomes_an_int64_tensor()
    {
        var batch = Sd15Tokenizer.Get().EncodeBatch(["a photo of a cat", "a dog"]);
        using var ids = batch.ToTensor();
        Assert.Equal([2L, 77L], ids.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, ids.dtype);
        Assert.Equal(batch.InputIds[1, 2], ids[1, 2].item<long>());
        Assert.Equal(Eos, ids[1, 76].item<long>());
    }
}
