using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class DatasetSummaryTests
{
    [Fact]
    public void LengthStatisticsUseDocumentedMedianAndNearestRankP95()
    {
        var stats = LengthStatistics.From(Enumerable.Range(1, 20).Reverse());
        Assert.Equal(new LengthStatistics(20, 1, 10.5, 19, 20), stats);
        Assert.Equal(new LengthStatistics(3, 2, 5, 9, 9), LengthStatistics.From([9, 2, 5]));
        Assert.Equal(new LengthStatistics(0, 0, 0, 0, 0), LengthStatistics.From([]));
    }

    [Fact]
    public void SummaryCountsSkipsLabelsAndPromptLengths()
    {
        TextImageExample Example(string id, string prompt, string label) =>
            new(id, "/x/" + id, prompt, new Dictionary<string, string> { ["label"] = label, ["uid"] = id });
        var dataset = new TextImageDataset("folder:/x",
            [Example("a", "one two three", "normal"), Example("b", "four", "abnormal"), Example("c", "five six", "normal")],
            [new SkippedItem("/x/captions.csv", 5, SkipCategories.NoText, "empty 'text' for d.png")])
            .WithExcluded("lateral", 2);
        var summary = dataset.Summarize();
        Assert.Equal(3, summary.ExampleCount);
        Assert.Equal(1, summary.SkippedCount);
        Assert.Equal(1, summary.SkippedByCategory[SkipCategories.NoText]);
        Assert.Equal(2, summary.LabelCounts["label"]["normal"]);
        Assert.Equal(new LengthStatistics(3, 1, 2, 3, 3), summary.PromptWords);
        Assert.Equal(new LengthStatistics(3, 4, 8, 13, 13), summary.PromptCharacters);

        var text = summary.ToText();
        Assert.Contains("examples  3", text);
        Assert.Contains("no text: 1", text);
        Assert.Contains("excluded  2 (lateral)", text);
        Assert.Contains("label label: abnormal 1, normal 2", text);
        Assert.Contains("prompt words       min 1, median 2, p95 3, max 3", text);
        Assert.Contains("/x/captions.csv:5: no text: empty 'text' for d.png", text);
    }
}
