using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SeLoRA.Data.Datasets;
using SeLoRA.Data.Datasets.SynthCxr;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// Reads a SynthCXR labels.jsonl into labels keyed by file name. Every line must be a JSON object with a file_name, a
/// text and the boolean finding fields (a missing flag would otherwise read as "absent"); errors are
/// <see cref="DatasetFormatException"/>s naming the file and line.
/// </summary>
public static class FindingLabelReader
{
    static readonly string[] RequiredFlags = ["cardiomegaly", "effusion", "nodule", "mass", "pneumothorax", "device"];

    /// <summary>The labels file of a dataset folder, or the path itself when it names a file.</summary>
    public static string LabelsPath(string datasetFolderOrLabelsFile) =>
        File.Exists(datasetFolderOrLabelsFile)
            ? datasetFolderOrLabelsFile
            : Path.Combine(datasetFolderOrLabelsFile, SynthCxrGenerator.LabelsFileName);

    /// <summary>Labels by file name (ordinal), in file order.</summary>
    public static IReadOnlyDictionary<string, SynthCxrLabel> Read(string datasetFolderOrLabelsFile)
    {
        var path = LabelsPath(datasetFolderOrLabelsFile);
        if (!File.Exists(path)) throw new DatasetFormatException(path, 0, "labels file not found (a SynthCXR folder has labels.jsonl).");
        var labels = new Dictionary<string, SynthCxrLabel>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var label = Parse(path, lineNumber, line);
            if (!labels.TryAdd(label.FileName, label))
                throw new DatasetFormatException(path, lineNumber, $"file_name '{label.FileName}' appears twice.");
        }
        if (labels.Count == 0) throw new DatasetFormatException(path, 0, "no labels.");
        return labels;
    }

    /// <summary>"sha256:" + lower-case hex of the file's bytes: identifies the label set a classifier was trained on.</summary>
    public static string Hash(string datasetFolderOrLabelsFile)
    {
        var path = LabelsPath(datasetFolderOrLabelsFile);
        if (!File.Exists(path)) throw new DatasetFormatException(path, 0, "labels file not found.");
        using var stream = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static SynthCxrLabel Parse(string path, int lineNumber, string line)
    {
        try
        {
            using (var document = JsonDocument.Parse(line))
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new DatasetFormatException(path, lineNumber, $"expected a JSON object, got {root.ValueKind}.");
                if (!root.TryGetProperty("file_name", out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(name.GetString()))
                    throw new DatasetFormatException(path, lineNumber, "field 'file_name' must be a non-empty string.");
                foreach (var flag in RequiredFlags)
                    if (!root.TryGetProperty(flag, out var value) || value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        throw new DatasetFormatException(path, lineNumber, $"field '{flag}' must be true or false (file_name '{name.GetString()}').");
            }
            return JsonSerializer.Deserialize<SynthCxrLabel>(line)
                   ?? throw new DatasetFormatException(path, lineNumber, "null label.");
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path, lineNumber, $"not a valid label: {e.Message}", e);
        }
    }
}
