using SeLoRA.Data.Datasets.SynthCxr;

namespace SeLoRA.Evaluation.Findings;

/// <summary>Maps <see cref="SynthCxrLabel"/> to the binary <see cref="Finding"/> targets and names them as labels.jsonl does.</summary>
public static class FindingTargets
{
    /// <summary>Every finding, in the order of the classifier's default output columns.</summary>
    public static IReadOnlyList<Finding> All { get; } = Enum.GetValues<Finding>();

    /// <summary>The lower-case name used in files and reports: cardiomegaly, effusion, lesion, pneumothorax, device.</summary>
    public static string Name(Finding finding) => finding switch
    {
        Finding.Cardiomegaly => "cardiomegaly",
        Finding.Effusion => "effusion",
        Finding.Lesion => "lesion",
        Finding.Pneumothorax => "pneumothorax",
        Finding.Device => "device",
        _ => throw new ArgumentOutOfRangeException(nameof(finding), finding, "unknown finding."),
    };

    public static Finding Parse(string name)
    {
        foreach (var finding in All)
            if (string.Equals(Name(finding), name, StringComparison.OrdinalIgnoreCase)) return finding;
        throw new ArgumentException($"unknown finding '{name}'; known: {string.Join(", ", All.Select(Name))}.", nameof(name));
    }

    /// <summary>Whether the label carries the finding (lesion = nodule or mass).</summary>
    public static bool Has(SynthCxrLabel label, Finding finding) => finding switch
    {
        Finding.Cardiomegaly => label.Cardiomegaly,
        Finding.Effusion => label.Effusion,
        Finding.Lesion => label.Nodule || label.Mass,
        Finding.Pneumothorax => label.Pneumothorax,
        Finding.Device => label.Device,
        _ => throw new ArgumentOutOfRangeException(nameof(finding), finding, "unknown finding."),
    };

    /// <summary>One 0/1 value per finding, in the given order.</summary>
    public static float[] Vector(SynthCxrLabel label, IReadOnlyList<Finding> findings) =>
        findings.Select(f => Has(label, f) ? 1f : 0f).ToArray();
}
