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
}
