using System.Globalization;

namespace SeLoRA.Data.Datasets;

/// <summary>
/// "kind:folder[?key=value&amp;...]", e.g. "iu-xray:/data/iu", "iu-xray-r2gen:/data/iu", "montgomery:/data/mcu",
/// "folder:/data/mine", "iu-xray:/data/iu?prompt=impression". The kind is everything before the first ':'. Options:
/// prompt=findings|impression|both, check=exists|header|decode, failfast=true|false, views=first|all.
/// </summary>
public sealed record DatasetSpec(string Kind, string Folder, IReadOnlyDictionary<string, string> Options)
{
    public static readonly IReadOnlyList<string> OptionKeys = ["prompt", "check", "failfast", "views"];

    public static DatasetSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
            throw new FormatException(
                $"dataset spec '{text}': expected 'kind:folder' with kind one of {string.Join(", ", DatasetFactory.Kinds)} (e.g. iu-xray:/data/iu).");
        var kind = trimmed[..colon].Trim().ToLowerInvariant();
        if (!DatasetFactory.Kinds.Contains(kind, StringComparer.Ordinal))
            throw new FormatException($"dataset spec '{text}': unknown kind '{kind}'; known: {string.Join(", ", DatasetFactory.Kinds)}.");
        var rest = trimmed[(colon + 1)..];
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var question = rest.LastIndexOf('?');
        if (question >= 0)
        {
            foreach (var pair in rest[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new FormatException($"dataset spec '{text}': option '{pair}' is not key=value.");
                var key = pair[..eq].Trim().ToLowerInvariant();
                if (!OptionKeys.Contains(key, StringComparer.Ordinal))
                    throw new FormatException($"dataset spec '{text}': unknown option '{key}'; known: {string.Join(", ", OptionKeys)}.");
                options[key] = pair[(eq + 1)..].Trim().ToLowerInvariant();
            }
            rest = rest[..question];
        }
        var folder = rest.Trim();
        if (folder.Length == 0) throw new FormatException($"dataset spec '{text}': no folder after '{kind}:'.");
        var spec = new DatasetSpec(kind, folder, options);
        spec.ApplyTo(DatasetOptions.Default); // validates option values now rather than when opening
        return spec;
    }

    /// <summary>The spec's options laid over <paramref name="options"/>.</summary>
    public DatasetOptions ApplyTo(DatasetOptions options)
    {
        foreach (var (key, value) in Options)
        {
            options = key switch
            {
                "prompt" => options with { Prompt = ParseEnum<PromptSource>(key, value) },
                "check" => options with { Check = ParseEnum<ImageCheck>(key, value) },
                "failfast" => options with { FailFast = value switch
                {
                    "true" or "1" or "yes" => true,
                    "false" or "0" or "no" => false,
                    _ => throw new FormatException($"dataset spec '{this}': failfast must be true or false, got '{value}'."),
                } },
                "views" => options with { AllViews = value switch
                {
                    "all" => true,
                    "first" => false,
                    _ => throw new FormatException($"dataset spec '{this}': views must be first or all, got '{value}'."),
                } },
                _ => options,
            };
        }
        return options;
    }

    private T ParseEnum<T>(string key, string value) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !char.IsDigit(value[0])
            ? parsed
            : throw new FormatException(
                $"dataset spec '{this}': {key} must be one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLower(CultureInfo.InvariantCulture)))}, got '{value}'.");

    public override string ToString() =>
        Options.Count == 0 ? $"{Kind}:{Folder}" : $"{Kind}:{Folder}?{string.Join('&', Options.Select(o => $"{o.Key}={o.Value}"))}";
}
