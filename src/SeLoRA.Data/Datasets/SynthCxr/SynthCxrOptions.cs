namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>
/// Finding probabilities for SynthCXR. Findings are drawn independently per image, so they co-occur freely; with the
/// defaults an image is normal (no finding at all) with probability 0.75 * 0.8 * 0.8 * 0.9 * 0.8 = 0.3456.
/// </summary>
public sealed record SynthCxrOptions
{
    /// <summary>P(cardiomegaly). Enlarged hearts get CTR ~ U(0.515, 0.66), normal ones U(0.38, 0.485): the gap around
    /// 0.5 keeps the flag unambiguous when the ratio is measured back from 8-bit pixels.</summary>
    public double Cardiomegaly { get; init; } = 0.25;

    /// <summary>P(pleural effusion); side right 0.45, left 0.40, bilateral 0.15; size small 0.45, moderate 0.35, large 0.20.</summary>
    public double Effusion { get; init; } = 0.20;

    /// <summary>P(a focal lesion); of these, a mass (diameter U(3.0, 6.0) cm) with probability <see cref="MassFraction"/>,
    /// otherwise a nodule (U(0.8, 2.9) cm). Zone upper/middle/lower and side uniform.</summary>
    public double Lesion { get; init; } = 0.20;

    public double MassFraction { get; init; } = 0.30;

    /// <summary>P(apical pneumothorax); side uniform; size small 0.6, large 0.4.</summary>
    public double Pneumothorax { get; init; } = 0.10;

    /// <summary>P(a support device); central venous catheter 0.4, endotracheal tube 0.3, nasogastric tube 0.3.</summary>
    public double Device { get; init; } = 0.20;

    /// <summary>The field of view: the image side spans this many centimetres (pixel spacing = FieldOfViewCm / size).</summary>
    public double FieldOfViewCm { get; init; } = 40.0;

    public static SynthCxrOptions Default { get; } = new();

    internal void Validate()
    {
        foreach (var (name, p) in new[] { (nameof(Cardiomegaly), Cardiomegaly), (nameof(Effusion), Effusion), (nameof(Lesion), Lesion),
                     (nameof(MassFraction), MassFraction), (nameof(Pneumothorax), Pneumothorax), (nameof(Device), Device) })
            if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(name, p, $"SynthCxrOptions.{name} must be a probability in [0, 1].");
        if (!(FieldOfViewCm > 0)) throw new ArgumentOutOfRangeException(nameof(FieldOfViewCm), FieldOfViewCm, "SynthCxrOptions.FieldOfViewCm must be positive.");
    }
}
