using System.Globalization;
using System.Text.RegularExpressions;

namespace SeLoRA.Data.Datasets;

/// <summary>
/// Montgomery County CXR: MontgomerySet/CXR_png/MCUCXR_####_{0,1}.png with MontgomerySet/ClinicalReadings/ the same
/// name .txt ("Patient's Sex: M", "Patient's Age: 044Y", then the findings). The folder may be the one holding
/// MontgomerySet or MontgomerySet itself. Prompt as in the paper: "Male, 44 years old, &lt;findings&gt;". Label "label":
/// normal (suffix 0) or abnormal (suffix 1); also "sex" and "age". Example id = the file stem.
/// </summary>
public sealed partial class MontgomeryReader : ITextImageDatasetReader
{
    public string Kind => "montgomery";

    public string Layout => "MontgomerySet/CXR_png/MCUCXR_####_{0,1}.png and MontgomerySet/ClinicalReadings/MCUCXR_####_{0,1}.txt";

    [GeneratedRegex(@"^MCUCXR_\d{4}_[01]$")]
    private static partial Regex StemPattern();

    [GeneratedRegex(@"^0*(\d+)\s*([YMWD]?)$", RegexOptions.IgnoreCase)]
    private static partial Regex AgePattern();

    public TextImageDataset Read(string folder, DatasetOptions options, string spec)
    {
        DatasetFolders.RequireFolder(folder, Layout);
        var root = Directory.Exists(Path.Combine(folder, "MontgomerySet")) ? Path.Combine(folder, "MontgomerySet") : folder;
        var imagesFolder = Path.Combine(root, "CXR_png");
        var readingsFolder = Path.Combine(root, "ClinicalReadings");
        foreach (var required in new[] { imagesFolder, readingsFolder })
            if (!Directory.Exists(required))
                throw new DatasetFormatException(required, 0, $"folder not found (expected layout: {Layout}).");

        var images = StemsIn(imagesFolder, "*.png");
        var readings = StemsIn(readingsFolder, "*.txt");
        if (images.Count == 0 && readings.Count == 0)
            throw new DatasetFormatException(imagesFolder, 0, $"no MCUCXR_####_{{0,1}}.png images (expected layout: {Layout}).");

        var collector = new ExampleCollector(spec, options);
        foreach (var stem in images.Union(readings).Order(StringComparer.Ordinal))
        {
            var imagePath = Path.Combine(imagesFolder, stem + ".png");
            var readingPath = Path.Combine(readingsFolder, stem + ".txt");
            if (!readings.Contains(stem))
            {
                collector.Skip(imagePath, 0, SkipCategories.NoReport, $"no clinical reading {readingPath}");
                continue;
            }
            if (!TryParseReading(collector, readingPath, out var sex, out var age, out var findings)) continue;
            if (!collector.ImageOk(readingPath, 0, imagePath)) continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["label"] = stem.EndsWith("_1", StringComparison.Ordinal) ? "abnormal" : "normal",
                ["sex"] = sex,
                ["age"] = age.Label,
            };
            var prompt = string.Join(", ", new[] { SexWord(sex), age.Phrase, findings }.Where(p => p.Length > 0));
            collector.Add(readingPath, 0, new TextImageExample(stem, Path.GetFullPath(imagePath), prompt, labels));
        }
        return collector.Build(root);
    }

    private static HashSet<string> StemsIn(string folder, string pattern) =>
        Directory.EnumerateFiles(folder, pattern)
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .Where(s => StemPattern().IsMatch(s))
            .ToHashSet(StringComparer.Ordinal);

    private static bool TryParseReading(ExampleCollector collector, string path, out string sex, out (string Label, string Phrase) age, out string findings)
    {
        sex = "";
        age = ("", "");
        findings = "";
        var lines = File.ReadAllLines(path);
        int sexLine = 0, ageLine = 0;
        var rest = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i].Trim();
            if (TryField(text, "Patient's Sex:", out var value) && sexLine == 0) { sex = value.ToUpperInvariant(); sexLine = i + 1; }
            else if (TryField(text, "Patient's Age:", out value) && ageLine == 0)
            {
                ageLine = i + 1;
                var match = AgePattern().Match(value);
                if (!match.Success)
                {
                    collector.Skip(path, ageLine, SkipCategories.MalformedReading, $"unreadable age '{value}' (expected e.g. 044Y)");
                    return false;
                }
                age = AgeText(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value.ToUpperInvariant());
            }
            else if (text.Length > 0) rest.Add(text);
        }
        if (sexLine == 0)
        {
            collector.Skip(path, 1, SkipCategories.MalformedReading, "no \"Patient's Sex:\" line");
            return false;
        }
        if (ageLine == 0)
        {
            collector.Skip(path, 2, SkipCategories.MalformedReading, "no \"Patient's Age:\" line");
            return false;
        }
        findings = ExampleCollector.CleanText(string.Join(' ', rest));
        if (findings.Length == 0)
        {
            collector.Skip(path, Math.Max(sexLine, ageLine) + 1, SkipCategories.NoText, "no findings after the sex and age lines");
            return false;
        }
        return true;
    }

    private static bool TryField(string line, string prefix, out string value)
    {
        value = "";
        if (!line.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        value = line[prefix.Length..].Trim();
        return true;
    }

    private static (string Label, string Phrase) AgeText(int value, string unit) => unit switch
    {
        "M" => ($"{value}M", $"{value} {(value == 1 ? "month" : "months")} old"),
        "W" => ($"{value}W", $"{value} {(value == 1 ? "week" : "weeks")} old"),
        "D" => ($"{value}D", $"{value} {(value == 1 ? "day" : "days")} old"),
        _ => (value.ToString(CultureInfo.InvariantCulture), $"{value} {(value == 1 ? "year" : "years")} old"),
    };

    // Unknown codes (e.g. "O") are left out of the prompt rather than guessed.
    private static string SexWord(string code) => code switch
    {
        "M" => "Male",
        "F" => "Female",
        _ => "",
    };
}
