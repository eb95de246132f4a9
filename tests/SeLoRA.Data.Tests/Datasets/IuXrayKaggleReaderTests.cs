using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class IuXrayKaggleReaderTests
{
    private const string Images = "images/images_normalized/";

    // uid 1: two lines of findings with a comma (quoted); uid 2: no findings, has impression; uid 3: findings only.
    private const string Reports =
        "uid,MeSH,Problems,image,indication,comparison,findings,impression\n" +
        "1,normal,normal,Xray Chest PA and Lateral,\"Positive TB test\",None.,\"The cardiac silhouette is normal,\nlungs are clear.\",Normal chest.\n" +
        "2,Opacity,Opacity,Xray Chest,,None.,,\"Left basilar opacity.\"\n" +
        "3,normal,normal,Xray Chest,,None.,Heart size normal.,\n";

    // Line 3 is lateral; line 6 has a uid with no report.
    private const string Projections =
        "uid,filename,projection\n" +
        "1,1_IM-0001-4001.dcm.png,Frontal\n" +
        "1,1_IM-0001-3001.dcm.png,Lateral\n" +
        "2,2_IM-0652-1001.dcm.png,Frontal\n" +
        "3,3_IM-1384-1001.dcm.png,Frontal\n" +
        "4,4_IM-2050-1001.dcm.png,Frontal\n";

    private static FixtureFolder Layout(string reports = Reports, string projections = Projections)
    {
        var folder = new FixtureFolder();
        folder.WriteText(IuXrayKaggleReader.ReportsFile, reports);
        folder.WriteText(IuXrayKaggleReader.ProjectionsFile, projections);
        foreach (var name in new[] { "1_IM-0001-4001.dcm.png", "1_IM-0001-3001.dcm.png", "2_IM-0652-1001.dcm.png", "3_IM-1384-1001.dcm.png", "4_IM-2050-1001.dcm.png" })
            folder.WritePng(Images + name);
        return folder;
    }

    [Fact]
    public void FrontalOnlyFindingsPromptsAndCountedSkips()
    {
        using var folder = Layout();
        var dataset = DatasetFactory.Open($"iu-xray:{folder.Root}");

        Assert.Equal(["1_IM-0001-4001.dcm.png", "3_IM-1384-1001.dcm.png"], dataset.Examples.Select(e => e.Id));
        Assert.Equal("The cardiac silhouette is normal, lungs are clear.", dataset.Examples[0].Prompt);
        Assert.Equal("Heart size normal.", dataset.Examples[1].Prompt);
        Assert.All(dataset.Examples, e => Assert.Equal("Frontal", e.Labels["projection"]));
        Assert.Equal("1", dataset.Examples[0].Labels["uid"]);
        Assert.True(File.Exists(dataset.Examples[0].ImagePath));
        Assert.Equal(1, dataset.Excluded.Values.Single());

        Assert.Equal(2, dataset.Skipped.Count);
        var noText = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.NoText);
        Assert.EndsWith(IuXrayKaggleReader.ReportsFile, noText.File);
        Assert.Equal(4, noText.Line); // uid 2's report row (uid 1's spans lines 2-3)
        var noReport = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.NoReport);
        Assert.EndsWith(IuXrayKaggleReader.ProjectionsFile, noReport.File);
        Assert.Equal(6, noReport.Line);
    }

    [Fact]
    public void ImpressionAndBothPromptOptions()
    {
        using var folder = Layout();
        var impression = DatasetFactory.Open($"iu-xray:{folder.Root}?prompt=impression");
        Assert.Equal(["1_IM-0001-4001.dcm.png", "2_IM-0652-1001.dcm.png"], impression.Examples.Select(e => e.Id));
        Assert.Equal(["Normal chest.", "Left basilar opacity."], impression.Examples.Select(e => e.Prompt));

        var both = DatasetFactory.Open($"iu-xray:{folder.Root}", DatasetOptions.Default with { Prompt = PromptSource.Both });
        Assert.Equal(3, both.Examples.Count);
        Assert.Equal("The cardiac silhouette is normal, lungs are clear. Normal chest.", both.Examples[0].Prompt);
        Assert.Equal("Left basilar opacity.", both.Examples[1].Prompt);
        Assert.Equal("Heart size normal.", both.Examples[2].Prompt);
    }

    [Fact]
    public void MissingImageIsSkippedWithFileAndLineOrThrowsUnderFailFast()
    {
        using var folder = Layout();
        File.Delete(folder.PathOf(Images + "3_IM-1384-1001.dcm.png"));
        var dataset = DatasetFactory.Open($"iu-xray:{folder.Root}");
        var missing = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.ImageMissing);
        Assert.Equal(5, missing.Line);
        Assert.Contains("3_IM-1384-1001.dcm.png", missing.ToString());
        Assert.Contains($"{IuXrayKaggleReader.ProjectionsFile}:5:", missing.ToString());

        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray:{folder.Root}?failfast=true"));
        Assert.Contains($"{IuXrayKaggleReader.ProjectionsFile}:5:", e.Message);
        Assert.Contains("image missing", e.Message);
    }

    [Fact]
    public void CorruptImageIsSkippedAndReportedOrThrowsUnderFailFast()
    {
        using var folder = Layout();
        folder.WriteCorruptPng(Images + "1_IM-0001-4001.dcm.png");
        var dataset = DatasetFactory.Open($"iu-xray:{folder.Root}");
        Assert.Equal(["3_IM-1384-1001.dcm.png"], dataset.Examples.Select(e => e.Id));
        var corrupt = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.ImageUndecodable);
        Assert.Equal(2, corrupt.Line);
        Assert.Contains("1_IM-0001-4001.dcm.png", corrupt.Detail);

        var e = Assert.Throws<DatasetFormatException>(() =>
            DatasetFactory.Open($"iu-xray:{folder.Root}", DatasetOptions.Default with { FailFast = true }));
        Assert.Contains($"{IuXrayKaggleReader.ProjectionsFile}:2:", e.Message);

        // Existence-only checking leaves decoding to the loader.
        var lazy = DatasetFactory.Open($"iu-xray:{folder.Root}?check=exists");
        Assert.Equal(2, lazy.Examples.Count);
    }

    [Fact]
    public void MissingColumnNamesFileAndColumn()
    {
        using var folder = Layout(reports: Reports.Replace(",findings,", ",finding,"));
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray:{folder.Root}"));
        Assert.Contains($"{IuXrayKaggleReader.ReportsFile}:1:", e.Message);
        Assert.Contains("missing column 'findings'", e.Message);
    }

    [Fact]
    public void MissingCsvAndEmptyFolderAreClearErrors()
    {
        using var folder = new FixtureFolder();
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray:{folder.Root}"));
        Assert.Contains(IuXrayKaggleReader.ReportsFile, e.Message);
        Assert.Contains("file not found", e.Message);

        var absent = Path.Combine(folder.Root, "nope");
        e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray:{absent}"));
        Assert.Contains(absent, e.Message);
    }

    [Fact]
    public void NoUsableRowsIsAnError()
    {
        using var folder = Layout(projections: "uid,filename,projection\n1,1_IM-0001-3001.dcm.png,Lateral\n");
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray:{folder.Root}"));
        Assert.Contains(IuXrayKaggleReader.ProjectionsFile, e.Message);
        Assert.Contains("no examples", e.Message);
    }
}
