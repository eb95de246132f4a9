using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace SeLoRA.Cluster.Hosting;

/// <summary>
/// Layers the configuration: hocon/base.hocon, then named overlays (roles/worker, persistence/postgres, ...), then user files.
/// Later layers win. Every key under "selora" must exist in base.hocon, so a typo is an error, not a silent default.
/// </summary>
public static class HoconLoader
{
    public const string BaseFile = "base.hocon";
    public const string DirectoryVariable = "SELORA_HOCON_DIR";

    /// <summary>The hocon/ folder: $SELORA_HOCON_DIR, else beside the program, else the nearest one above the working directory.</summary>
    public static string LocateDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            if (!File.Exists(Path.Combine(fromEnvironment, BaseFile)))
                throw new ConfigurationFileException(fromEnvironment, $"{DirectoryVariable} points at a folder without {BaseFile}.");
            return Path.GetFullPath(fromEnvironment);
        }
        var besideProgram = Path.Combine(AppContext.BaseDirectory, "hocon");
        if (File.Exists(Path.Combine(besideProgram, BaseFile))) return besideProgram;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "hocon");
            if (File.Exists(Path.Combine(candidate, BaseFile))) return candidate;
        }
        throw new ConfigurationFileException("hocon/" + BaseFile,
            $"not found beside the program, above the working directory, or in ${DirectoryVariable}.");
    }

    /// <summary>Parses base.hocon alone: the defaults.</summary>
    public static Config LoadDefaults(string hoconDirectory) => ParseFile(Path.Combine(hoconDirectory, BaseFile));

    /// <summary>Overlay names available under the folder, such as "roles/worker".</summary>
    public static IReadOnlyList<string> AvailableOverlays(string hoconDirectory) =>
        Directory.EnumerateFiles(hoconDirectory, "*.hocon", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(hoconDirectory, f).Replace('\\', '/'))
            .Where(f => f != BaseFile)
            .Select(f => f[..^".hocon".Length])
            .Order(StringComparer.Ordinal)
            .ToList();

    public static Config Load(string hoconDirectory, IEnumerable<string>? overlays = null, IEnumerable<string>? files = null)
    {
        var defaults = LoadDefaults(hoconDirectory);
        var layers = new List<(string Source, Config Config)>();
        foreach (var overlay in overlays ?? [])
        {
            var path = Path.Combine(hoconDirectory, overlay.EndsWith(".hocon", StringComparison.Ordinal) ? overlay : overlay + ".hocon");
            if (!File.Exists(path))
                throw new ConfigurationFileException(path,
                    $"no overlay \"{overlay}\"; available: {string.Join(", ", AvailableOverlays(hoconDirectory))}.");
            layers.Add((path, ParseFile(path)));
        }
        foreach (var file in files ?? [])
        {
            if (!File.Exists(file)) throw new ConfigurationFileException(file, "file not found.");
            layers.Add((Path.GetFullPath(file), ParseFile(file)));
        }

        var known = LeafPaths(defaults).ToHashSet(StringComparer.Ordinal);
        foreach (var (source, layer) in layers)
        {
            var unknown = LeafPaths(layer).Where(p => p.StartsWith("selora.", StringComparison.Ordinal) && !known.Contains(p)).ToList();
            if (unknown.Count > 0)
                throw new ConfigurationFileException(source,
                    $"unknown setting(s) {string.Join(", ", unknown)}; every setting is listed with its default in hocon/{BaseFile}.");
        }

        var merged = defaults;
        foreach (var (_, layer) in layers) merged = layer.WithFallback(merged);
        return merged;
    }

    /// <summary>Every leaf setting path in a configuration, such as "selora.torch.device".</summary>
    public static IEnumerable<string> LeafPaths(Config config) =>
        config.IsEmpty ? [] : LeafPaths(config.Root, "");

    static IEnumerable<string> LeafPaths(HoconValue value, string prefix)
    {
        if (!value.IsObject()) return [prefix];
        return value.GetObject().Items.SelectMany(kv => LeafPaths(kv.Value, prefix.Length == 0 ? kv.Key : prefix + "." + kv.Key));
    }

    static Config ParseFile(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            CheckBraces(path, text);
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception e) when (e is not ConfigurationFileException)
        {
            throw new ConfigurationFileException(path, e.Message);
        }
    }

    /// <summary>Akka's HOCON parser accepts a file that ends inside an object; a forgotten brace must not pass silently.</summary>
    static void CheckBraces(string path, string text)
    {
        var depth = 0;
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') line++;
            else if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
            else if (c == '"')
            {
                var triple = i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"';
                var close = triple ? text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal) : IndexOfClosingQuote(text, i + 1);
                if (close < 0) throw new ConfigurationFileException(path, $"line {line}: a string is not closed.");
                line += text.AsSpan(i, close - i).Count('\n');
                i = triple ? close + 2 : close;
            }
            else if (c == '{') depth++;
            else if (c == '}' && --depth < 0)
                throw new ConfigurationFileException(path, $"line {line}: '}}' without a matching '{{'.");
        }
        if (depth > 0) throw new ConfigurationFileException(path, $"{depth} '{{' not closed at the end of the file.");
    }

    static int IndexOfClosingQuote(string text, int start)
    {
        for (var i = start; i < text.Length && text[i] != '\n'; i++)
        {
            if (text[i] == '\\') i++;
            else if (text[i] == '"') return i;
        }
        return -1;
    }
}

/// <summary>A configuration file is missing, malformed or names an unknown setting.</summary>
public sealed class ConfigurationFileException(string file, string problem) : Exception($"{file}: {problem}")
{
    public string File { get; } = file;
}
