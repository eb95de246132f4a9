using System.Text.Json;

namespace SeLoRA.Adapters.Core;

/// <summary>Typed reads of adapter_config.json fields, each error naming the field; absent or null fields are left to defaults.</summary>
internal static class ConfigFields
{
    /// <summary>Parses a config file, prefixing any field error with the file's path.</summary>
    public static T ReadFile<T>(string path, Func<JsonElement, T> parse)
    {
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        try
        {
            return parse(doc.RootElement);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    public static JsonElement? Get(JsonElement root, string name)
        => root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static int Int(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw new FormatException($"{name}: expected an integer, got {e.GetRawText()}");

    public static long Long(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : throw new FormatException($"{name}: expected an integer, got {e.GetRawText()}");

    public static double Number(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw new FormatException($"{name}: expected a number, got {e.GetRawText()}");

    public static bool Bool(JsonElement e, string name)
        => e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new FormatException($"{name}: expected true or false, got {e.GetRawText()}"),
        };

    public static ulong Seed(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out var s) ? s : throw new FormatException($"{name}: expected a non-negative integer, got {e.GetRawText()}");
}
