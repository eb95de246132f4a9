namespace SeLoRA.Data.Pretraining;

/// <summary>
/// Class names and captions of Fashion-MNIST. A caption is a fixed template per image index (so a run is reproducible)
/// with the class noun, which gives the text encoder a little variety around the word that matters.
/// </summary>
public static class FashionMnistCaptions
{
    /// <summary>The official class names, by label 0-9.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The noun used in captions, by label (the singular a user would type: "a photo of a trouser").</summary>
    public static IReadOnlyList<string> Nouns { get; } =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    /// <summary>"{0}" is the noun with its article.</summary>
    public static IReadOnlyList<string> Templates { get; } =
    [
        "a photo of {0}",
        "a grayscale photo of {0}",
        "a picture of {0}",
        "{0}",
        "a product photo of {0}",
        "a black and white photo of {0}",
        "a small photo of {0}",
        "a photo of {0} on a black background",
    ];

    /// <summary>The caption of image <paramref name="index"/> with class <paramref name="label"/>; deterministic.</summary>
    public static string Caption(int label, long index)
    {
        if ((uint)label >= (uint)Nouns.Count) throw new ArgumentOutOfRangeException(nameof(label), label, "labels are 0-9");
        // A multiplicative hash, so neighbouring indices do not walk through the templates in order.
        var template = Templates[(int)(((ulong)index * 0x9E3779B97F4A7C15UL >> 32) % (ulong)Templates.Count)];
        return string.Format(System.Globalization.CultureInfo.InvariantCulture, template, WithArticle(Nouns[label]));
    }

    /// <summary>Every caption the data set can produce, in a fixed order.</summary>
    public static IEnumerable<string> All() =>
        from noun in Nouns from template in Templates
        select string.Format(System.Globalization.CultureInfo.InvariantCulture, template, WithArticle(noun));

    static string WithArticle(string noun) => ("aeiou".Contains(noun[0]) ? "an " : "a ") + noun;
}
