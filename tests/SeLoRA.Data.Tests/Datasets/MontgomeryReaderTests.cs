using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class MontgomeryReaderTests
{
    private static FixtureFolder Layout()
    {
        var folder = new FixtureFolder();
        folder.WritePng("MontgomerySet/CXR_png/MCUCXR_0001_0.png");
        folder.WriteText("MontgomerySet/ClinicalReadings/MCUCXR_0001_0.txt", "Patient's Sex: M\r\nPatient's Age: 044Y\r\n\r\nnormal\r\n");
        folder.WritePng("MontgomerySet/CXR_png/MCUCXR_0104_1.png", 60);
        folder.WriteText("MontgomerySet/ClinicalReadings/MCUCXR_0104_1.txt",
            "Patient's Sex: F\nPatient's Age: 067Y\nbilateral upper lobe\n  infiltrates, TB\n");
        return folder;
    }

    [Fact]
    public void PromptIsSexAgeFindingsAndLabelFollowsTheSuffix()
    {
        using var folder = Layout();
        var dataset = DatasetFactory.Open($"montgomery:{folder.Root}");
        Assert.Equal(["MCUCXR_0001_0", "MCUCXR_0104_1"], dataset.Examples.Select(e => e.Id));
        Assert.Equal("Male, 44 years old, normal", dataset.Examples[0].Prompt);
        Assert.Equal("Female, 67 years old, bilateral upper lobe infiltrates, TB", dataset.Examples[1].Prompt);
        Assert.Equal(["normal", "abnormal"], dataset.Examples.Select(e => e.Labels["label"]));
        Assert.Equal(["M", "F"], dataset.Examples.Select(e => e.Labels["sex"]));
        Assert.Equal("44", dataset.Examples[0].Labels["age"]);
        Assert.Empty(dataset.Skipped);

        // The MontgomerySet folder itself works too.
        var inner = DatasetFactory.Open($"montgomery:{Path.Combine(folder.Root, "MontgomerySet")}");
        Assert.Equal(2, inner.Examples.Count);
    }

    [Fact]
    public void MalformedReadingAndMissingFilesAreReported()
    {
        using var folder = Layout();
        folder.WritePng("MontgomerySet/CXR_png/MCUCXR_0002_0.png");
        folder.WriteText("MontgomerySet/ClinicalReadings/MCUCXR_0002_0.txt", "Patient's Age: 030Y\nnormal\n");
        folder.WriteText("MontgomerySet/ClinicalReadings/MCUCXR_0003_1.txt", "Patient's Sex: M\nPatient's Age: 050Y\nTB\n");
        folder.WritePng("MontgomerySet/CXR_png/MCUCXR_0004_0.png");
        folder.WritePng("MontgomerySet/CXR_png/MCUCXR_0005_0.png");
        folder.WriteText("MontgomerySet/ClinicalReadings/MCUCXR_0005_0.txt", "Patient's Sex: M\nPatient's Age: forty\nnormal\n");

        var dataset = DatasetFactory.Open($"montgomery:{folder.Root}");
        Assert.Equal(2, dataset.Examples.Count);
        Assert.Equal(4, dataset.Skipped.Count);
        var noSex = Assert.Single(dataset.Skipped, s => s.File.EndsWith("MCUCXR_0002_0.txt", StringComparison.Ordinal));
        Assert.Equal(SkipCategories.MalformedReading, noSex.Category);
        Assert.Contains("Patient's Sex", noSex.Detail);
        var badAge = Assert.Single(dataset.Skipped, s => s.File.EndsWith("MCUCXR_0005_0.txt", StringComparison.Ordinal));
        Assert.Equal(2, badAge.Line);
        Assert.Contains("forty", badAge.Detail);
        var noImage = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.ImageMissing);
        Assert.Contains("MCUCXR_0003_1.png", noImage.Detail);
        var noReading = Assert.Single(dataset.Skipped, s => s.Category == SkipCategories.NoReport);
        Assert.EndsWith("MCUCXR_0004_0.png", noReading.File);

        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"montgomery:{folder.Root}?failfast=true"));
        Assert.Contains("MCUCXR_0002_0.txt:1:", e.Message);
    }

    [Fact]
    public void EmptyLayoutIsAnError()
    {
        using var folder = new FixtureFolder();
        Directory.CreateDirectory(folder.PathOf("MontgomerySet/CXR_png"));
        var e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"montgomery:{folder.Root}"));
        Assert.Contains("ClinicalReadings", e.Message);
        Directory.CreateDirectory(folder.PathOf("MontgomerySet/ClinicalReadings"));
        e = Assert.Throws<DatasetFormatException>(() => DatasetFactory.Open($"montgomery:{folder.Root}"));
        Assert.Contains("CXR_png", e.Message);
        Assert.Contains("no MCUCXR", e.Message);
    }
}
