using SeLoRA.Data.Datasets;
using SeLoRA.Data.Splits;

namespace SeLoRA.Data.Tests.Splits;

public sealed class DatasetSplitterTests
{
    internal static TextImageExample[] Examples(int n) =>
        Enumerable.Range(0, n)
            .Select(i => new TextImageExample($"img{i:D4}.png", $"/data/img{i:D4}.png", $"prompt {i}", TextImageExample.NoLabels))
            .ToArray();

    [Theory]
    [InlineData(100, new[] { 80, 16, 4 })]
    [InlineData(1000, new[] { 800, 160, 40 })]
    [InlineData(10, new[] { 8, 2, 0 })]   // 8 / 1.6 / 0.4: the one left over goes to the largest remainder (valid)
    [InlineData(3, new[] { 2, 1, 0 })]    // 2.4 / 0.48 / 0.12: one left over, to the largest remainder .48 (valid)
    [InlineData(0, new[] { 0, 0, 0 })]
    public void PaperCountsFollowLargestRemainder(int n, int[] expected)
    {
        Assert.Equal(expected, DatasetSplitter.Counts(n, DatasetSplitter.PaperIuXray));
    }

    [Fact]
    public void TiesGoToTheEarlierPartAndMontgomeryDefaultIs80_20()
    {
        Assert.Equal([4, 3], DatasetSplitter.Counts(7, DatasetSplitter.TrainTest(0.5)));
        Assert.Equal([110, 28], DatasetSplitter.Counts(138, DatasetSplitter.TrainTest()));
        Assert.Equal([97, 41], DatasetSplitter.Counts(138, DatasetSplitter.TrainTest(0.7)));
    }

    [Fact]
    public void SplitIsReproducibleDisjointCoveringAndProportional()
    {
        var examples = Examples(250);
        var a = DatasetSplitter.PaperIuXraySplit(examples);
        var b = DatasetSplitter.Split(examples.Reverse().ToArray(), DatasetSplitter.PaperIuXray, 42);
        Assert.Equal(["train", "valid", "test"], a.Names);
        foreach (var name in a.Names) Assert.Equal(a[name].Select(e => e.Id), b[name].Select(e => e.Id));
        Assert.Equal([200, 40, 10], a.Names.Select(n => a[n].Count));

        var all = a.Names.SelectMany(n => a[n]).Select(e => e.Id).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(examples.Select(e => e.Id).Order(), all.Order());
        // Shuffled, not cut from the sorted order.
        Assert.NotEqual(examples.Take(200).Select(e => e.Id), a["train"].Select(e => e.Id));
    }

    [Fact]
    public void ADifferentSeedGivesADifferentSplit()
    {
        var examples = Examples(100);
        var a = DatasetSplitter.Split(examples, DatasetSplitter.PaperIuXray, 42);
        var b = DatasetSplitter.Split(examples, DatasetSplitter.PaperIuXray, 43);
        Assert.NotEqual(a["test"].Select(e => e.Id).Order(), b["test"].Select(e => e.Id).Order());
        Assert.Equal(a["test"].Count, b["test"].Count);
    }

    [Fact]
    public void SplitIsPinnedAcrossRuntimes()
    {
        // A fixed generator and a fixed order make this exact; a change here changes every published split.
        var split = DatasetSplitter.Split(Examples(10), DatasetSplitter.TrainTest(0.8), 42);
        Assert.Equal(SplitMix64Reference(), split["test"].Select(e => e.Id).ToArray());
    }

    private static string[] SplitMix64Reference()
    {
        // Independent re-implementation of the documented procedure.
        var ids = Enumerable.Range(0, 10).Select(i => $"img{i:D4}.png").ToArray();
        ulong state = 42;
        for (var i = ids.Length - 1; i > 0; i--)
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var j = (int)(((UInt128)z * (ulong)(i + 1)) >> 64);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }
        return ids[8..];
    }

    [Fact]
    public void BadFractionsAndDuplicateIdsAreRejected()
    {
        Assert.Contains("sum to 1", Assert.Throws<ArgumentException>(() =>
            DatasetSplitter.Counts(10, [new("train", 0.8), new("test", 0.1)])).Message);
        Assert.Throws<ArgumentException>(() => DatasetSplitter.Counts(10, [new("a", 0.5), new("a", 0.5)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplitter.TrainTest(1.0));
        var examples = Examples(3).Append(Examples(1)[0]).ToArray();
        Assert.Contains("duplicate", Assert.Throws<ArgumentException>(() =>
            DatasetSplitter.Split(examples, DatasetSplitter.TrainTest(), 1)).Message);
    }
}
