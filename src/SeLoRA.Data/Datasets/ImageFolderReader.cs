using System.Text.Json;

namespace SeLoRA.Data.Datasets;

/// <summary>
/// A user's own folder, in the Hugging Face imagefolder convention: metadata.jsonl with one JSON object per line
/// {"file_name": "a.png", "text": "..."}, or captions.csv with columns file_name,text. file_name is relative to the
/// folder. Other fields become labels. Example id = file_name with '/' separators.
/// </summary>
public sealed class ImageFolderReader : ITextImageDatasetReader
{
    public const string MetadataFile = "metadata.jsonl";
    public const string CaptionsFile = "captions.csv";

    public string Kind => "folder";

    public string Layout => $"{MetadataFile} ({{\"file_name\", \"text\"}} per line) or {CaptionsFile} (file_name,text), images beside it";

    public TextImageDataset Read(string folder, DatasetOptions options, string spec)
    {
        DatasetFolders.RequireFolder(folder, Layout);
        var jsonl = Path.Combine(folder, MetadataFile);
        var csv = Path.Combine(folder, CaptionsFile);
        bool hasJsonl = File.Exists(jsonl), hasCsv = File.Exists(csv);
        if (hasJsonl && hasCsv)
            throw new DatasetFormatException(folder, 0, $"both {MetadataFile} and {CaptionsFile} present; keep one.");
        if (!hasJsonl && !hasCsv)
        {
            var files = Directory.EnumerateFileSystemEntries(folder).Any() ? "no metadata file" : "empty folder";
            throw new DatasetFormatException(folder, 0, $"{files}: expected {Layout}.");
        }
        var collector = new ExampleCollector(spec, options);
        var rows = hasJsonl ? ReadJsonl(jsonl) : ReadCsv(csv);
        var source = hasJsonl ? jsonl : csv;
        var root = Path.GetFullPath(folder);
        foreach (var (line, fileName, text, labels) in rows)
        {
            if (fileName.Length == 0) throw new DatasetFormatException(source, line, "empty 'file_name'.");
            var imagePath = Path.GetFullPath(Path.Combine(root, fileName));
            if (Path.IsPathRooted(fileName) || !imagePath.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new DatasetFormatException(source, line, $"'file_name' must be a path inside the folder, got '{fileName}'.");
            var prompt = ExampleCollector.CleanText(text);
            if (prompt.Length == 0)
            {
                collector.Skip(source, line, SkipCategories.NoText, $"empty 'text' for {fileName}");
                continue;
            }
            if (!collector.ImageOk(source, line, imagePath)) continue;
            collector.Add(source, line, new TextImageExample(fileName.Replace('\\', '/'), imagePath, prompt, labels));
        }
        return collector.Build(source);
    }

    private static IEnumerable<(int Line, string FileName, string Text, IReadOnlyDictionary<string, string> Labels)> ReadJsonl(string path)
    {
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            JsonDocument document;
            try { document = JsonDocument.Parse(raw); }
            catch (JsonException e) { throw new DatasetFormatException(path, lineNumber, $"invalid JSON: {e.Message}", e); }
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new DatasetFormatException(path, lineNumber, "expected a JSON object.");
                var fileName = RequireString(path, lineNumber, root, "file_name");
                var text = RequireString(path, lineNumber, root, "text");
                var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Name is "file_name" or "text") continue;
                    var value = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                        _ => null,
                    };
                    if (value != null) labels[property.Name] = value;
                }
                yield return (lineNumber, fileName, text, labels);
            }
        }
    }

    private static string RequireString(string path, int line, JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value))
            throw new DatasetFormatException(path, line, $"missing field '{field}'.");
        if (value.ValueKind == JsonValueKind.Null) return "";
        if (value.ValueKind != JsonValueKind.String)
            throw new DatasetFormatException(path, line, $"field '{field}' must be a string, got {value.ValueKind.ToString().ToLowerInvariant()}.");
        return value.GetString()!;
    }

    private static IEnumerable<(int Line, string FileName, string Text, IReadOnlyDictionary<string, string> Labels)> ReadCsv(string path)
    {
        var table = CsvTable.Read(path);
        int fileColumn = table.Column("file_name"), textColumn = table.Column("text");
        foreach (var row in table.Rows)
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < table.Header.Count; i++)
                if (i != fileColumn && i != textColumn) labels[table.Header[i]] = row.Fields[i];
            yield return (row.Line, row.Fields[fileColumn].Trim(), row.Fields[textColumn], labels);
        }
    }
}
