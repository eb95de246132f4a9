using SeLoRA.Data.Preprocessing;
using SeLoRA.Diffusion.Tokenization;

namespace SeLoRA.Data.Tests.Preprocessing;

public sealed class PromptTokenizerTests : IDisposable
{
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("selora-tok-");

    public void Dispose() => dir.Delete(recursive: true);

    [Fact]
    public void Pads_to_77_and_counts_truncated_prompts()
    {
        var corpus = new[] { "no acute cardiopulmonary abnormality", "the lungs are clear", "heart size is normal" };
        var vocab = ClipVocabularyBuilder.Learn(corpus, 50);
        ClipVocabularyBuilder.WriteFolder(vocab, dir.FullName);
        var prompts = new PromptTokenizer(ClipTokenizer.FromFolder(dir.FullName));
        Assert.Equal(77, prompts.MaxLength);

        var longPrompt = string.Join(" ", Enumerable.Repeat("the lungs are clear", 40));
        var result = prompts.Tokenize(["heart size is normal", longPrompt, longPrompt]);

        Assert.Equal(3, result.InputIds.GetLength(0));
        Assert.Equal(77, result.InputIds.GetLength(1));
        Assert.Equal(2, result.TruncatedCount);
        Assert.Equal(vocab.BosId, result.InputIds[0, 0]);
        Assert.Equal(vocab.EosId, result.InputIds[1, 76]);
        Assert.Equal(vocab.EosId, result.InputIds[0, 76]); // pad id is EOS for SD1.5
        prompts.Tokenize(["the lungs are clear"]);
        Assert.Equal(4, prompts.TotalPrompts);
        Assert.Equal(2, prompts.TotalTruncated);
    }
}
