using SeLoRA.Data.Datasets;
using SeLoRA.Data.Splits;
using SeLoRA.Data.Tests.Datasets;

namespace SeLoRA.Data.Tests.Splits;

public sealed class SplitManifestTests
{
    [Fact]
    public void RoundTripReproducesTheSameImages()
    {
        using var folder = new FixtureFolder();
        var examples = DatasetSplitterTests.Examples(60);
        var split = DatasetSplitter.PaperIuXraySplit(examples);
        var manifest = split.ToManifest("iu-xray:/data/iu");
        var path = Path.Combine(folder.Root, "out", "split.json");
        manifest.Write(path);

        var read = SplitManifest.Read(path);
        Assert.Equal("iu-xray:/data/iu", read.DatasetSpec);
        Assert.Equal(42, read.Seed);
        Assert.Equal(DatasetSplitter.PaperIuXray, read.Fractions);
        Assert.Equal(60, read.ExampleCount);
        Assert.Equal(SplitManifest.HashOf(examples), read.ExampleHash);
        Assert.StartsWith("sha256:", read.ExampleHash);
        foreach (var name in split.Names) Assert.Equal(split[name].Select(e => e.Id), read.Splits[name]);

        // Applied to a re-read dataset in a different order, it gives the same parts.
        var applied = read.Apply(examples.Reverse().ToArray(), path);
        foreach (var name in split.Names) Assert.Equal(split[name], applied[name]);
        Assert.Contains("\"train\"", File.ReadAllText(path));
    }

    [Fact]
    public void ChangedExampleListIsRefusedNamingTheDifference()
    {
        using var folder = new FixtureFolder();
        var examples = DatasetSplitterTests.Examples(20);
        var path = Path.Combine(folder.Root, "split.json");
        DatasetSplitter.Split(examples, DatasetSplitter.TrainTest(), 7).ToManifest("folder:/x").Write(path);
        var changed = examples.Skip(1).Append(new TextImageExample("new.png", "/x/new.png", "p", TextImageExample.NoLabels)).ToArray();
        var e = Assert.Throws<DatasetFormatException>(() => SplitManifest.Read(path).Apply(changed, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("img0000.png", e.Message);
        Assert.Contains("new.png", e.Message);
    }

    [Fact]
    public void GivenSplitHasNoSeedAndBadFilesNameTheField()
    {
        using var folder = new FixtureFolder();
        var examples = DatasetSplitterTests.Examples(4)
            .Select((e, i) => e with { Labels = new Dictionary<string, string> { ["split"] = i < 3 ? "train" : "test" } }).ToArray();
        var path = Path.Combine(folder.Root, "given.json");
        DatasetSplitter.FromLabel(examples).ToManifest("iu-xray-r2gen:/d").Write(path);
        var read = SplitManifest.Read(path);
        Assert.Null(read.Seed);
        Assert.Equal([3, 1], read.Splits.Values.Select(v => v.Count));

        File.WriteAllText(path, File.ReadAllText(path).Replace("\"example_hash\"", "\"hash\""));
        var e = Assert.Throws<DatasetFormatException>(() => SplitManifest.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'example_hash'", e.Message);
    }
}
