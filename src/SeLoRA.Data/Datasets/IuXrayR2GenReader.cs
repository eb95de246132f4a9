using System.Text;
using System.Text.Json;

namespace SeLoRA.Data.Datasets;

/// <summary>
/// IU X-Ray in the R2Gen layout: annotation.json = {"train": [...], "val": [...], "test": [...]}, each entry
/// {id, report, image_path: [...], split}, images under images/. R2Gen lists the frontal view first, so by default one
/// example per study from image_path[0] (id = the study id); <see cref="DatasetOptions.AllViews"/> takes every image
/// (id = the image path). Label "split" carries the given split (the entry's "split" field, else the list's key).
/// </summary>
public sealed class IuXrayR2GenReader : ITextImageDatasetReader
{
    public const string AnnotationFile = "annotation.json";

    public string Kind => "iu-xray-r2gen";

    public string Layout => $"{AnnotationFile} (train/val/test lists of {{id, report, image_path[], split}}), images/";

    public TextImageDataset Read(string folder, DatasetOptions options, string spec)
    {
        DatasetFolders.RequireFolder(folder, Layout);
        var path = DatasetFolders.RequireFile(folder, AnnotationFile, Layout);
        var bytes = File.ReadAllBytes(path);
        var collector = new ExampleCollector(spec, options);
        var lines = new LineCounter(bytes);
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new DatasetFormatException(path, lines.At(reader.TokenStartIndex), "expected a JSON object of split lists.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var splitKey = reader.GetString()!;
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new DatasetFormatException(path, lines.At(reader.TokenStartIndex), $"'{splitKey}' must be a list of entries.");
                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var line = lines.At(reader.TokenStartIndex);
                    using var entry = JsonDocument.ParseValue(ref reader);
                    ReadEntry(collector, folder, path, line, $"{splitKey}[{index}]", splitKey, entry.RootElement);
                    index++;
                }
            }
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path, (int)(e.LineNumber ?? -1) + 1, $"invalid JSON: {e.Message}", e);
        }
        return collector.Build(path);
    }

    private static void ReadEntry(ExampleCollector collector, string folder, string path, int line, string where, string splitKey, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new DatasetFormatException(path, line, $"{where}: expected an object.");
        var id = RequireString(path, line, where, entry, "id");
        var report = RequireString(path, line, where, entry, "report");
        if (!entry.TryGetProperty("image_path", out var images) || images.ValueKind != JsonValueKind.Array)
            throw new DatasetFormatException(path, line, $"{where}: missing field 'image_path' (a list of image paths).");
        var split = entry.TryGetProperty("split", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : splitKey;
        var prompt = ExampleCollector.CleanText(report);
        if (prompt.Length == 0)
        {
            collector.Skip(path, line, SkipCategories.NoText, $"{where}: study '{id}' has an empty report");
            return;
        }
        var imagePaths = images.EnumerateArray().Select(i => i.ValueKind == JsonValueKind.String ? i.GetString()! : "").ToList();
        if (imagePaths.Count == 0 || imagePaths.Any(p => p.Length == 0))
            throw new DatasetFormatException(path, line, $"{where}: field 'image_path' must be a non-empty list of strings.");
        var taken = collector.Options.AllViews ? imagePaths : imagePaths.Take(1).ToList();
        for (var view = 0; view < taken.Count; view++)
        {
            var imagePath = Path.Combine(folder, "images", taken[view]);
            if (!collector.ImageOk(path, line, imagePath)) continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["split"] = split,
                ["study"] = id,
                ["view"] = view.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            var exampleId = collector.Options.AllViews ? taken[view].Replace('\\', '/') : id;
            collector.Add(path, line, new TextImageExample(exampleId, Path.GetFullPath(imagePath), prompt, labels));
        }
    }

    private static string RequireString(string path, int line, string where, JsonElement entry, string field)
    {
        if (!entry.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String)
            throw new DatasetFormatException(path, line, $"{where}: missing field '{field}' (a string).");
        return value.GetString()!;
    }

    /// <summary>Line numbers for increasing byte offsets, counted incrementally (the file is read front to back).</summary>
    private sealed class LineCounter(byte[] bytes)
    {
        private long position;
        private int line = 1;

        public int At(long offset)
        {
            for (; position < offset && position < bytes.Length; position++) if (bytes[position] == (byte)'\n') line++;
            return line;
        }
    }
}
