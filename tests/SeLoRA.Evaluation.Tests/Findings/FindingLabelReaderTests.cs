using SeLoRA.Data.Datasets;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Evaluation.Findings;

namespace SeLoRA.Evaluation.Tests.Findings;

public class FindingLabelReaderTests
{
    const string Good = """{"file_name":"a.png","cardiomegaly":true,"effusion":false,"nodule":false,"mass":true,"pneumothorax":false,"device":false,"text":"t"}""";

    static string Write(string dir, params string[] lines)
    {
        var path = Path.Combine(dir, SynthCxrGenerator.LabelsFileName);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    [Fact]
    public void ReadsGeneratedLabelsByFileName()
    {
        var dir = Directory.CreateTempSubdirectory("selora-findings-labels-");
        try
        {
            var expected = SynthCxrGenerator.Labels(30, 64, seed: 3);
            var lines = expected.Select(l => System.Text.Json.JsonSerializer.Serialize(l)).ToArray();
            Write(dir.FullName, lines);
            var labels = FindingLabelReader.Read(dir.FullName);
            Assert.Equal(30, labels.Count);
            foreach (var l in expected)
            {
                Assert.Equal(l, labels[l.FileName]);
                Assert.Equal(l.Nodule || l.Mass, FindingTargets.Has(labels[l.FileName], Finding.Lesion));
            }
            Assert.StartsWith("sha256:", FindingLabelReader.Hash(dir.FullName));
        }
        finally { dir.Delete(true); }
    }

    [Theory]
    [InlineData("{not json", "not a valid label")]
    [InlineData("""{"file_name":"b.png","cardiomegaly":true,"effusion":false,"nodule":false,"mass":false,"pneumothorax":false,"text":"t"}""", "field 'device' must be true or false")]
    [InlineData("""{"cardiomegaly":true}""", "field 'file_name'")]
    [InlineData(Good, "file_name 'a.png' appears twice")]
    [InlineData("[1, 2]", "expected a JSON object")]
    public void ErrorsNameFileAndLine(string secondLine, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("selora-findings-labels-");
        try
        {
            var path = Write(dir.FullName, Good, secondLine);
            var error = Assert.Throws<DatasetFormatException>(() => FindingLabelReader.Read(dir.FullName));
            Assert.StartsWith($"{path}:2: ", error.Message);
            Assert.Contains(expected, error.Message);
            Assert.Equal(2, error.Line);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var dir = Directory.CreateTempSubdirectory("selora-findings-labels-");
        try
        {
            var error = Assert.Throws<DatasetFormatException>(() => FindingLabelReader.Read(dir.FullName));
            Assert.Contains(Path.Combine(dir.FullName, "labels.jsonl"), error.Message);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void FindingNamesRoundTrip()
    {
        foreach (var f in FindingTargets.All) Assert.Equal(f, FindingTargets.Parse(FindingTargets.Name(f)));
        Assert.Contains("known: cardiomegaly", Assert.Throws<ArgumentException>(() => FindingTargets.Parse("atelectasis")).Message);
    }
}
