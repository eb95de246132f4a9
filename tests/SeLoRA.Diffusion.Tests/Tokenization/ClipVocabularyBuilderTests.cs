using SeLoRA.Diffusion.Tokenization;

namespace SeLoRA.Diffusion.Tests.Tokenization;

public sealed class ClipVocabularyBuilderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-vocab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Learned_merges_follow_pair_frequency_and_the_written_folder_tokenizes()
    {
        // "aa" is the most frequent pair (4 in "aaaa" x1... counted over words), then "aa"+"a</w>" style merges follow.
        var vocabulary = ClipVocabularyBuilder.Learn(["low lower lowest", "low low"], merges: 3);
        Assert.Equal(("l", "o"), vocabulary.Merges[0]);
        Assert.Equal(("lo", "w</w>"), vocabulary.Merges[1]);
        Assert.Equal(512 + 3 + 2, vocabulary.Tokens.Count);
        Assert.Equal("<|startoftext|>", vocabulary.Tokens[vocabulary.BosId]);

        ClipVocabularyBuilder.WriteFolder(vocabulary, _dir);
        var tokenizer = ClipTokenizer.FromFolder(_dir);
        Assert.Equal(vocabulary.BosId, tokenizer.BosId);
        Assert.Equal(vocabulary.EosId, tokenizer.EosId);
        Assert.Equal(vocabulary.EosId, tokenizer.PadId);
        var ids = tokenizer.Encode("Low");
        Assert.Equal([vocabulary.BosId, 512 + 1, vocabulary.EosId], ids); // "low</w>" is one learned token
        Assert.Equal("low", tokenizer.Decode(ids));
        Assert.Equal("zebra lower", tokenizer.Decode(tokenizer.Encode("zebra lower"))); // unseen words fall back to bytes
    }

    [Fact]
    public void Learning_stops_when_no_pair_is_left()
    {
        var vocabulary = ClipVocabularyBuilder.Learn(["ab"], merges: 10);
        Assert.Single(vocabulary.Merges);
    }
}
