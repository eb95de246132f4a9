using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Splits;

/// <summary>
/// A split written down so evaluation uses the same images: the dataset spec, seed (null for a given split), fractions,
/// example count, a hash of the example list and, per split name, the example ids. The hash is "sha256:" + hex of
/// SHA-256 over the example ids sorted ordinally, each followed by '\n' (UTF-8); ids name the images, so the hash
/// changes when an image is added or removed but not when prompt options change.
/// </summary>
public sealed record SplitManifest(
    string DatasetSpec,
    int? Seed,
    IReadOnlyList<SplitFraction> Fractions,
    string ExampleHash,
    int ExampleCount,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Splits)
{
    public const string Format = "selora-split-manifest/1";

    public static string HashOf(IEnumerable<TextImageExample> examples)
    {
        var text = new StringBuilder();
        foreach (var id in examples.Select(e => e.Id).Order(StringComparer.Ordinal)) text.Append(id).Append('\n');
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public void Write(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null) Directory.CreateDirectory(directory);
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("dataset", DatasetSpec);
            if (Seed is { } seed) json.WriteNumber("seed", seed);
            else json.WriteNull("seed");
            json.WriteStartObject("fractions");
            foreach (var f in Fractions) json.WriteNumber(f.Name, f.Fraction);
            json.WriteEndObject();
            json.WriteNumber("example_count", ExampleCount);
            json.WriteString("example_hash", ExampleHash);
            json.WriteStartObject("splits");
            foreach (var f in Fractions)
            {
                json.WriteStartArray(f.Name);
                foreach (var id in Splits.GetValueOrDefault(f.Name) ?? []) json.WriteStringValue(id);
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        File.Move(temp, path, overwrite: true);
    }

    public static SplitManifest Read(string path)
    {
        if (!File.Exists(path)) throw new DatasetFormatException(path, 0, "split manifest not found.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var format = Field(path, root, "format", JsonValueKind.String).GetString();
            if (format != Format) throw new DatasetFormatException(path, 0, $"field 'format' is '{format}', expected '{Format}'.");
            var seedElement = root.TryGetProperty("seed", out var s) ? s : default;
            int? seed = seedElement.ValueKind == JsonValueKind.Number ? seedElement.GetInt32() : null;
            var fractions = Field(path, root, "fractions", JsonValueKind.Object).EnumerateObject()
                .Select(p => new SplitFraction(p.Name, p.Value.GetDouble())).ToArray();
            var splits = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var p in Field(path, root, "splits", JsonValueKind.Object).EnumerateObject())
                splits[p.Name] = p.Value.EnumerateArray().Select(i => i.GetString()
                    ?? throw new DatasetFormatException(path, 0, $"splits.{p.Name}: ids must be strings.")).ToArray();
            foreach (var f in fractions)
                if (!splits.ContainsKey(f.Name)) throw new DatasetFormatException(path, 0, $"field 'splits' has no '{f.Name}' list.");
            return new SplitManifest(
                Field(path, root, "dataset", JsonValueKind.String).GetString()!,
                seed,
                fractions,
                Field(path, root, "example_hash", JsonValueKind.String).GetString()!,
                Field(path, root, "example_count", JsonValueKind.Number).GetInt32(),
                splits);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            var line = e is JsonException j ? (int)(j.LineNumber ?? -1) + 1 : 0;
            throw new DatasetFormatException(path, line, $"invalid split manifest: {e.Message}", e);
        }
    }

    /// <summary>
    /// Rebuilds the split from a freshly read dataset. Throws when the dataset's example list differs from the one the
    /// manifest was made from (names the first missing and unexpected ids), so evaluation cannot silently drift.
    /// </summary>
    public DatasetSplit Apply(IReadOnlyList<TextImageExample> examples, string manifestPath = "split manifest")
    {
        var byId = examples.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var hash = HashOf(examples);
        if (hash != ExampleHash)
        {
            var listed = Splits.Values.SelectMany(v => v).ToHashSet(StringComparer.Ordinal);
            var missing = listed.Where(id => !byId.ContainsKey(id)).Order(StringComparer.Ordinal).Take(5).ToArray();
            var extra = byId.Keys.Where(id => !listed.Contains(id)).Order(StringComparer.Ordinal).Take(5).ToArray();
            throw new DatasetFormatException(manifestPath, 0,
                $"the dataset's examples differ from the manifest's ({examples.Count} examples, hash {hash}; manifest: {ExampleCount}, {ExampleHash}). " +
                $"Missing from the dataset: [{string.Join(", ", missing)}]; not in the manifest: [{string.Join(", ", extra)}].");
        }
        var parts = Fractions.ToDictionary(
            f => f.Name,
            f => (IReadOnlyList<TextImageExample>)Splits[f.Name].Select(id => byId.TryGetValue(id, out var e)
                ? e
                : throw new DatasetFormatException(manifestPath, 0, $"splits.{f.Name}: id '{id}' is not in the dataset.")).ToArray(),
            StringComparer.Ordinal);
        return new DatasetSplit(Fractions.Select(f => f.Name).ToArray(), parts, Seed, Fractions);
    }

    private static JsonElement Field(string path, JsonElement root, string name, JsonValueKind kind)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != kind)
            throw new DatasetFormatException(path, 0, $"missing field '{name}' (a JSON {kind.ToString().ToLowerInvariant()}).");
        return value;
    }
}
