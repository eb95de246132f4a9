using SeLoRA.Torch.Randomness;
using System.Globalization;

namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>
/// Radiology-style findings text from a case. Every finding gets exactly one sentence, positive or negated, chosen
/// from a few templates; each sentence names its finding with a fixed keyword (heart/cardiac/cardiomegaly, pleural
/// effusion, nodule/mass, pneumothorax, catheter/tube) so reports can be checked and parsed.
/// </summary>
internal static class ChestReportWriter
{
    private static readonly string[] HeartEnlarged =
    [
        "The heart is enlarged.",
        "Cardiomegaly.",
        "The cardiac silhouette is enlarged.",
        "Enlarged heart, cardiothoracic ratio {ctr}.",
        "Cardiomegaly is present.",
    ];

    private static readonly string[] HeartNormal =
    [
        "Heart size is normal.",
        "The cardiac silhouette is within normal limits.",
        "Normal heart size.",
        "The heart is not enlarged.",
    ];

    private static readonly string[] EffusionPositive =
    [
        "{Size} {side} pleural effusion.",
        "There is a {size} {side} pleural effusion.",
        "{Size} {side} pleural effusion blunting the costophrenic angle.",
        "{Side} pleural effusion, {size}.",
    ];

    private static readonly string[] EffusionBilateral =
    [
        "{Size} bilateral pleural effusions.",
        "There are {size} bilateral pleural effusions.",
        "Bilateral pleural effusions, {size}.",
    ];

    private static readonly string[] EffusionNegative =
    [
        "No pleural effusion.",
        "There is no pleural effusion.",
        "No evidence of pleural effusion.",
        "The costophrenic angles are sharp without pleural effusion.",
    ];

    private static readonly string[] LesionPositive =
    [
        "A {cm} cm {type} in the {side} {zone} zone.",
        "There is a {cm} cm {type} in the {side} {zone} zone.",
        "{Side} {zone} zone {type} measuring about {cm} cm.",
        "{Type} in the {side} {zone} zone, about {cm} cm.",
    ];

    private static readonly string[] LesionNegative =
    [
        "No pulmonary nodule or mass.",
        "No focal nodule or mass.",
        "There is no nodule or mass.",
        "The lungs show no nodule or mass.",
    ];

    private static readonly string[] PneumothoraxPositive =
    [
        "{Size} {side} apical pneumothorax.",
        "{Size} {side} pneumothorax, visible pleural line.",
        "{Side} apical pneumothorax, {size}.",
        "{Size} {side} pneumothorax.",
    ];

    private static readonly string[] PneumothoraxNegative =
    [
        "No pneumothorax.",
        "There is no pneumothorax.",
        "No evidence of pneumothorax.",
    ];

    private static readonly Dictionary<string, string[]> DevicePositive = new()
    {
        ["central_venous_catheter"] =
        [
            "Right jugular central line in the superior vena cava.",
            "A right central venous catheter is in place.",
            "Right central line, tip in the superior vena cava.",
        ],
        ["endotracheal_tube"] =
        [
            "Endotracheal tube with the tip above the carina.",
            "An endotracheal tube is in place.",
            "Endotracheal tube in satisfactory position.",
        ],
        ["nasogastric_tube"] =
        [
            "Nasogastric tube, tip in the stomach.",
            "A nasogastric tube courses below the diaphragm.",
            "Enteric tube, tip below the left hemidiaphragm.",
        ],
    };

    private static readonly string[] Openers = ["Findings: ", "FINDINGS: ", "Chest radiograph. Findings: "];

    public static string Write(ChestCase c, SplitMix64 rng)
    {
        var sentences = new List<string>();
        if (c.DeviceType != null) sentences.Add(rng.Pick(DevicePositive[c.DeviceType]));
        sentences.Add(c.Cardiomegaly
            ? Fill(rng.Pick(HeartEnlarged), ("ctr", c.Ctr.ToString("0.00", CultureInfo.InvariantCulture)))
            : rng.Pick(HeartNormal));
        sentences.Add(c.LesionType != null
            ? Fill(rng.Pick(LesionPositive), ("cm", c.LesionDiameterCm.ToString("0.0", CultureInfo.InvariantCulture)),
                   ("type", c.LesionType), ("side", c.LesionSide!), ("zone", c.LesionZone!))
            : rng.Pick(LesionNegative));
        sentences.Add(c.EffusionSide == null
            ? rng.Pick(EffusionNegative)
            : Fill(rng.Pick(c.EffusionSide == "bilateral" ? EffusionBilateral : EffusionPositive),
                   ("size", c.EffusionSize!), ("side", c.EffusionSide)));
        sentences.Add(c.PneumothoraxSide != null
            ? Fill(rng.Pick(PneumothoraxPositive), ("size", c.PneumothoraxSize!), ("side", c.PneumothoraxSide))
            : rng.Pick(PneumothoraxNegative));
        // The long opener only where the report is short, so every report fits CLIP's 77 tokens.
        var positives = new[] { c.Cardiomegaly, c.EffusionSide != null, c.LesionType != null, c.PneumothoraxSide != null, c.DeviceType != null }
            .Count(p => p);
        var opener = rng.Pick(Openers);
        if (positives > 2 && opener.StartsWith("Chest", StringComparison.Ordinal)) opener = "Findings: ";
        var text = opener + string.Join(" ", sentences);
        if (c.IsNormal && rng.Chance(0.5)) text += rng.Pick(new[] { " Impression: Normal chest.", " Impression: No acute cardiopulmonary abnormality." });
        return text;
    }

    /// <summary>Every template with every slot value: the full vocabulary the reports can use.</summary>
    public static IEnumerable<string> AllPhrases()
    {
        foreach (var o in Openers) yield return o.Trim();
        yield return "Impression: Normal chest.";
        yield return "Impression: No acute cardiopulmonary abnormality.";
        foreach (var t in HeartEnlarged) yield return Fill(t, ("ctr", "0.58"));
        foreach (var t in HeartNormal.Concat(EffusionNegative).Concat(LesionNegative).Concat(PneumothoraxNegative)) yield return t;
        foreach (var t in DevicePositive.Values.SelectMany(v => v)) yield return t;
        string[] sides = ["right", "left"], sizes = ["small", "moderate", "large"], zones = ["upper", "middle", "lower"];
        foreach (var t in EffusionPositive) foreach (var side in sides) foreach (var size in sizes) yield return Fill(t, ("size", size), ("side", side));
        foreach (var t in EffusionBilateral) foreach (var size in sizes) yield return Fill(t, ("size", size), ("side", "bilateral"));
        foreach (var t in PneumothoraxPositive) foreach (var side in sides) foreach (var size in new[] { "small", "large" })
            yield return Fill(t, ("size", size), ("side", side));
        foreach (var t in LesionPositive) foreach (var side in sides) foreach (var zone in zones) foreach (var (type, cm) in new[] { ("nodule", "1.5"), ("mass", "4.2") })
            yield return Fill(t, ("cm", cm), ("type", type), ("side", side), ("zone", zone));
    }

    private static string Fill(string template, params (string Key, string Value)[] slots)
    {
        foreach (var (key, value) in slots)
        {
            template = template.Replace("{" + key + "}", value, StringComparison.Ordinal);
            var capitalKey = char.ToUpperInvariant(key[0]) + key[1..];
            template = template.Replace("{" + capitalKey + "}", char.ToUpperInvariant(value[0]) + value[1..], StringComparison.Ordinal);
        }
        return template;
    }
}
