using System.Globalization;
using System.Text.Json;

namespace SeLoRA.Diffusion.Configuration;

/// <summary>
/// Reads fields of a diffusers/transformers config.json with upstream defaults for absent or null fields, and errors that
/// name the file and the field.
/// </summary>
public sealed class ConfigJson
{
    readonly JsonElement _root;

    public string Source { get; }

    public ConfigJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{source}: expected a JSON object, found {root.ValueKind}.");
        _root = root;
        Source = source;
    }

    public static ConfigJson FromFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config {path} does not exist.", path);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return new ConfigJson(document.RootElement.Clone(), path);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }

    bool TryGet(string field, out JsonElement value) =>
        _root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    FormatException Wrong(string field, string expected, JsonElement value) =>
        new($"{Source}: field \"{field}\" must be {expected}, found {value.GetRawText()}.");

    public long Long(string field, long fallback)
    {
        if (!TryGet(field, out var value)) return fallback;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)) return number;
        throw Wrong(field, "an integer", value);
    }

    public int Int(string field, int fallback) => checked((int)Long(field, fallback));

    public double Double(string field, double fallback)
    {
        if (!TryGet(field, out var value)) return fallback;
        if (value.ValueKind == JsonValueKind.Number) return value.GetDouble();
        throw Wrong(field, "a number", value);
    }

    public bool Bool(string field, bool fallback)
    {
        if (!TryGet(field, out var value)) return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(field, "true or false", value),
        };
    }

    public string String(string field, string fallback)
    {
        if (!TryGet(field, out var value)) return fallback;
        if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
        throw Wrong(field, "a string", value);
    }

    public long[] Longs(string field, long[] fallback)
    {
        if (!TryGet(field, out var value)) return fallback;
        if (value.ValueKind != JsonValueKind.Array) throw Wrong(field, "a list of integers", value);
        return value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
            ? n : throw Wrong(field, "a list of integers", value)).ToArray();
    }

    public string[] Strings(string field, string[] fallback)
    {
        if (!TryGet(field, out var value)) return fallback;
        if (value.ValueKind != JsonValueKind.Array) throw Wrong(field, "a list of strings", value);
        return value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String
            ? v.GetString()! : throw Wrong(field, "a list of strings", value)).ToArray();
    }

    /// <summary>Throws naming the field when a check on a value read from this file fails.</summary>
    public void Require(bool condition, string field, string problem)
    {
        if (!condition) throw new FormatException($"{Source}: field \"{field}\" {problem}.");
    }

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
