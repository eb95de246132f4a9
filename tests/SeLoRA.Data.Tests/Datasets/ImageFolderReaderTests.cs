using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class ImageFolderReaderTests
{
    [Fact]
    public void MetadataJsonlWithExtraFieldsAsLabels()
    {
        using var folder = new FixtureFolder();
        folder.WritePng("a.png");
        folder.WritePng("sub/b.png");
        folder.WriteText("metadata.jsonl",
            "{\"file_name\": \"a.png\", \"text\": \"a chest x-ray\", \"label\": \"normal\"}\n\n" +
            "{\"file_name\": \"sub/b.png\", \"text\": \"  effusion,\\n right side \", \"score\": 3}\n" +
            "{\"file_name\": \"c.png\", \"text\": \"\"}\n");
        var dataset = DatasetFactory.Open($"folder:{folder.Root}");
        Assert.Equal(["a.png", "sub/b.png"], dataset.Examples.Select(e => e.Id));
        Assert.Equal(["a chest x-ray", "effusion, right side"], dataset.Examples.Select(e => e.Prompt));
        Assert.Equal("normal", dataset.Examples[0].Labels["label"]);
        Assert.Equal("3", dataset.Examples[1].Labels["score"]);
        var skipped = Assert.Single(dataset.Skipped);
        Assert.Equal((SkipCategories.NoText, 4), (skipped.Category, skipped.Line));
    }

    [Fact]
    public void CaptionsCsv()
    {
        using var folder = new FixtureFolder();
        folder.WritePng("x.png");
        folder.WritePng("y.png");
        folder.WriteText("captions.csv", "file_name,text\nx.png,\"left, and right\"\ny.png,plain\n");
        var dataset = DatasetFactory.Open($"folder:{folder.Root}");
        Assert.Equal(["left, and right", "plain"], dataset.Examples.Select(e => e.Prompt));
    }

    [Fact]
    public void BadJsonLineAndMissingFieldNameFileAndLine()
    {
        using var folder = new FixtureFolder();
        folder.WritePng("a.png");
        var metadata = folder.WriteText("metadata.jsonl", "{\"file_name\": \"a.png\", \"text\": \"ok\"}\n{\"file_name\": \"a.png\",\n");
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.StartsWith($"{metadata}:2:", e.Message);
        Assert.Contains("invalid JSON", e.Message);

        folder.WriteText("metadata.jsonl", "{\"file_name\": \"a.png\", \"text\": \"ok\"}\n{\"file_name\": \"a.png\", \"caption\": \"x\"}\n");
        e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.StartsWith($"{metadata}:2:", e.Message);
        Assert.Contains("missing field 'text'", e.Message);
    }

    [Fact]
    public void CaptionsCsvMissingColumn()
    {
        using var folder = new FixtureFolder();
        var csv = folder.WriteText("captions.csv", "file_name,caption\nx.png,hi\n");
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.StartsWith($"{csv}:1:", e.Message);
        Assert.Contains("missing column 'text'", e.Message);
    }

    [Fact]
    public void MissingAndCorruptImagesAreSkippedOrFailFast()
    {
        using var folder = new FixtureFolder();
        folder.WritePng("good.png");
        folder.WriteCorruptPng("bad.png");
        var csv = folder.WriteText("captions.csv", "file_name,text\ngood.png,fine\nbad.png,broken\ngone.png,absent\n");
        var dataset = DatasetFactory.Open($"folder:{folder.Root}");
        Assert.Equal(["good.png"], dataset.Examples.Select(e => e.Id));
        Assert.Equal(["3: image undecodable", "4: image missing"], dataset.Skipped.Select(s => $"{s.Line}: {s.Category}"));
        Assert.All(dataset.Skipped, s => Assert.Equal(csv, s.File));

        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}?failfast=true"));
        Assert.StartsWith($"{csv}:3:", e.Message);
        Assert.Contains("bad.png", e.Message);
    }

    [Fact]
    public void FullDecodeCatchesATruncatedPng()
    {
        using var folder = new FixtureFolder();
        var good = folder.WritePng("good.png");
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(folder.PathOf("cut.png"), bytes[..(bytes.Length / 2)]);
        folder.WriteText("captions.csv", "file_name,text\ngood.png,fine\ncut.png,cut\n");
        var decoded = DatasetFactory.Open($"folder:{folder.Root}?check=decode");
        Assert.Equal(["good.png"], decoded.Examples.Select(e => e.Id));
        Assert.Equal(SkipCategories.ImageUndecodable, Assert.Single(decoded.Skipped).Category);
    }

    [Fact]
    public void EmptyFolderAmbiguousMetadataAndEscapingPathsAreErrors()
    {
        using var folder = new FixtureFolder();
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.Contains(folder.Root, e.Message);
        Assert.Contains("empty folder", e.Message);

        folder.WriteText("captions.csv", "file_name,text\n");
        e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.Contains("captions.csv", e.Message);
        Assert.Contains("no examples", e.Message);

        folder.WriteText("metadata.jsonl", "{\"file_name\": \"../outside.png\", \"text\": \"x\"}\n");
        e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.Contains("both", e.Message);

        File.Delete(folder.PathOf("captions.csv"));
        e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"folder:{folder.Root}"));
        Assert.Contains("metadata.jsonl:1:", e.Message);
        Assert.Contains("inside the folder", e.Message);
    }
}
