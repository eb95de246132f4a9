using System.Text.RegularExpressions;
using Akka.Configuration;

namespace SeLoRA.Cluster.Hosting;

/// <summary>Typed reads that turn Akka's parse failures into errors naming the key.</summary>
internal sealed partial class SettingReader(Config config)
{
    string Raw(string key)
    {
        if (!config.HasPath(key)) throw new ConfigurationException($"setting {key} is missing; every setting has its default in hocon/{HoconLoader.BaseFile}.");
        try
        {
            var value = config.GetValue(key);
            return value is null ? "null" : value.IsString() ? value.GetString() ?? "null" : value.ToString();
        }
        catch (Exception)
        {
            return "(unreadable)";
        }
    }

    T Get<T>(string key, string expected, Func<string, T> read)
    {
        var raw = Raw(key);
        try
        {
            return read(key);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw TrainingConfigReader.Invalid(key, raw, expected);
        }
    }

    static T Check<T>(string key, T value, Func<T, bool> ok, string expected) =>
        ok(value) ? value : throw TrainingConfigReader.Invalid(key, value is string s ? $"\"{s}\"" : value!, expected);

    public string String(string key, Func<string, bool> ok, string expected) =>
        Check(key, Get(key, "a string", k => config.GetValue(k) is { } v && v.IsString() ? config.GetString(k) ?? "" : throw new FormatException()), ok, expected);

    public int Int(string key, Func<int, bool> ok, string expected) =>
        Check(key, Get(key, "a whole number" + (expected.Length > 0 ? ", " + expected : ""), k => config.GetInt(k)), ok, expected);

    public long Long(string key, Func<long, bool> ok, string expected) =>
        Check(key, Get(key, "a whole number" + (expected.Length > 0 ? ", " + expected : ""), k => config.GetLong(k)), ok, expected);

    public double Double(string key, Func<double, bool> ok, string expected) =>
        Check(key, Get(key, "a number, " + expected, k => config.GetDouble(k)), ok, expected);

    public bool Bool(string key) => Get(key, "on or off", k => config.GetBoolean(k));

    /// <summary>A device setting: empty (<paramref name="emptyMeans"/>), auto, cpu, cuda or cuda:N; trimmed.</summary>
    public string Device(string key, string emptyMeans) =>
        String(key, s => s.Trim().Length == 0 || DevicePattern().IsMatch(s.Trim().ToLowerInvariant()), $"empty ({emptyMeans}), auto, cpu, cuda or cuda:N").Trim();

    [GeneratedRegex(@"^(auto|cpu|cuda(:\d+)?)$")]
    private static partial Regex DevicePattern();

    public List<string> StringList(string key) =>
        Get(key, "a list of names such as [a, b]", k => config.GetStringList(k).ToList());

    public List<double> DoubleList(string key) =>
        Get(key, "a list of numbers such as [0.8, 0.16, 0.04]", k => config.GetDoubleList(k).ToList());

    /// <summary>Reads a string and parses it; a parse failure names the key, <paramref name="expected"/> and, with
    /// <paramref name="withReason"/>, the parser's own message.</summary>
    public T Parse<T>(string key, string expected, Func<string, T> parse, bool withReason = false)
    {
        var text = String(key, _ => true, expected);
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw TrainingConfigReader.Invalid(key, $"\"{text}\"", withReason ? $"{expected} ({e.Message.TrimEnd('.')})" : expected);
        }
    }
}
