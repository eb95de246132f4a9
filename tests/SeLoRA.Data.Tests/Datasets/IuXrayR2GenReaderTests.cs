using SeLoRA.Data.Datasets;
using SeLoRA.Data.Splits;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class IuXrayR2GenReaderTests
{
    private const string Annotation = """
        {
          "train": [
            {"id": "CXR1_1_IM-0001", "report": "The heart is normal.  Lungs are clear.", "image_path": ["CXR1_1_IM-0001/0.png", "CXR1_1_IM-0001/1.png"], "split": "train"},
            {"id": "CXR2_1_IM-0652", "report": "Left basilar opacity.", "image_path": ["CXR2_1_IM-0652/0.png", "CXR2_1_IM-0652/1.png"], "split": "train"}
          ],
          "val": [
            {"id": "CXR3_1_IM-1384", "report": "", "image_path": ["CXR3_1_IM-1384/0.png"], "split": "val"},
            {"id": "CXR4_1_IM-2050", "report": "No acute disease.", "image_path": ["CXR4_1_IM-2050/0.png"], "split": "val"}
          ],
          "test": [
            {"id": "CXR5_1_IM-2051", "report": "Cardiomegaly.", "image_path": ["CXR5_1_IM-2051/0.png", "CXR5_1_IM-2051/1.png"]}
          ]
        }
        """;

    private static FixtureFolder Layout(string annotation = Annotation)
    {
        var folder = new FixtureFolder();
        folder.WriteText(IuXrayR2GenReader.AnnotationFile, annotation);
        foreach (var study in new[] { "CXR1_1_IM-0001", "CXR2_1_IM-0652", "CXR3_1_IM-1384", "CXR4_1_IM-2050", "CXR5_1_IM-2051" })
        {
            folder.WritePng($"images/{study}/0.png");
            folder.WritePng($"images/{study}/1.png", 40);
        }
        return folder;
    }

    [Fact]
    public void FirstViewPerStudyWithTheGivenSplit()
    {
        using var folder = Layout();
        var dataset = DatasetFactory.Open($"iu-xray-r2gen:{folder.Root}");
        Assert.Equal(["CXR1_1_IM-0001", "CXR2_1_IM-0652", "CXR4_1_IM-2050", "CXR5_1_IM-2051"], dataset.Examples.Select(e => e.Id));
        Assert.Equal("The heart is normal. Lungs are clear.", dataset.Examples[0].Prompt);
        Assert.EndsWith(Path.Combine("CXR1_1_IM-0001", "0.png"), dataset.Examples[0].ImagePath);

        var empty = Assert.Single(dataset.Skipped);
        Assert.Equal(SkipCategories.NoText, empty.Category);
        Assert.Equal(7, empty.Line);
        Assert.Contains("val[0]", empty.Detail);

        var split = DatasetSplitter.FromLabel(dataset.Examples);
        Assert.Equal(["train", "val", "test"], split.Names);
        Assert.Equal(["CXR1_1_IM-0001", "CXR2_1_IM-0652"], split["train"].Select(e => e.Id));
        Assert.Equal(["CXR4_1_IM-2050"], split["val"].Select(e => e.Id));
        Assert.Equal(["CXR5_1_IM-2051"], split["test"].Select(e => e.Id)); // from the list key when "split" is absent
    }

    [Fact]
    public void AllViewsOption()
    {
        using var folder = Layout();
        var dataset = DatasetFactory.Open($"iu-xray-r2gen:{folder.Root}?views=all");
        Assert.Equal(7, dataset.Examples.Count);
        Assert.Contains(dataset.Examples, e => e.Id == "CXR1_1_IM-0001/1.png" && e.Labels["view"] == "1");
    }

    [Fact]
    public void MissingFieldNamesFileLineAndField()
    {
        using var folder = Layout(Annotation.Replace("\"report\": \"Cardiomegaly.\", ", ""));
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray-r2gen:{folder.Root}"));
        Assert.Contains($"{IuXrayR2GenReader.AnnotationFile}:11:", e.Message);
        Assert.Contains("test[0]", e.Message);
        Assert.Contains("'report'", e.Message);
    }

    [Fact]
    public void InvalidJsonNamesFileAndLine()
    {
        using var folder = Layout(Annotation.Replace("\"Left basilar opacity.\",", "\"Left basilar opacity.\""));
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"iu-xray-r2gen:{folder.Root}"));
        Assert.Contains($"{IuXrayR2GenReader.AnnotationFile}:4:", e.Message);
        Assert.Contains("invalid JSON", e.Message);
    }

    [Fact]
    public void MissingImageIsReported()
    {
        using var folder = Layout();
        File.Delete(folder.PathOf("images/CXR4_1_IM-2050/0.png"));
        var dataset = DatasetFactory.Open($"iu-xray-r2gen:{folder.Root}");
        var missing = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.ImageMissing);
        Assert.Equal(8, missing.Line);
        Assert.Contains("CXR4_1_IM-2050", missing.Detail);
    }
}
