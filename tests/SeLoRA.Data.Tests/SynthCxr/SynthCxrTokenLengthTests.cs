using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.TestSupport;

namespace SeLoRA.Data.Tests.SynthCxr;

public sealed class SynthCxrTokenLengthTests(ITestOutputHelper output)
{
    [Fact]
    public void ReportsFitTheClipContextWithTheSd15Tokenizer()
    {
        // Prompts longer than 77 tokens lose their last findings (the SD1.5 BPE splits words like "pneumothorax");
        // every finding present at once is the longest case.
        var tokenizer = ClipTokenizer.FromFolder(RepoPaths.RequireShared("sd15/tokenizer"));
        var reports = SynthCxrGenerator.Reports(3000, 128, seed: 13, new SynthCxrOptions { Effusion = 1, Lesion = 1, Pneumothorax = 1, Device = 1, Cardiomegaly = 1 });
        var longest = reports.Select(r => (Text: r, Tokens: tokenizer.Encode(r).Count)).MaxBy(p => p.Tokens);
        output.WriteLine($"longest report: {longest.Tokens} tokens: {longest.Text}");
        Assert.True(longest.Tokens <= 77, $"{longest.Tokens} tokens: {longest.Text}");
    }

    [Fact]
    public void PhraseCorpusLearnsAVocabularyThatEncodesReportsCompactly()
    {
        var dir = Directory.CreateTempSubdirectory("synthcxr-vocab");
        try
        {
            var vocabulary = ClipVocabularyBuilder.Learn(SynthCxrGenerator.AllPhrases(), merges: 600);
            ClipVocabularyBuilder.WriteFolder(vocabulary, dir.FullName);
            var tokenizer = ClipTokenizer.FromFolder(dir.FullName);
            var reports = SynthCxrGenerator.Reports(200, 128, seed: 17);
            var lengths = reports.Select(r => tokenizer.Encode(r).Count).ToList();
            output.WriteLine($"{vocabulary.Tokens.Count} tokens; report lengths {lengths.Min()}..{lengths.Max()} tokens");
            Assert.True(lengths.Max() <= 77, $"longest report {lengths.Max()} tokens with the learned vocabulary");
            // Whole words of the corpus become single tokens: a report costs about one token per word or mark.
            var words = reports.Select(r => r.Split(' ').Length).ToList();
            Assert.True(lengths.Zip(words).All(p => p.First < 3 * p.Second), "learned vocabulary barely compresses the reports");
        }
        finally { dir.Delete(true); }
    }
}
