namespace SeLoRA.Data.Datasets;

/// <summary>The categories readers put on <see cref="SkippedItem"/>.</summary>
public static class SkipCategories
{
    public const string NoText = "no text";
    public const string ImageMissing = "image missing";
    public const string ImageUndecodable = "image undecodable";
    public const string NoReport = "no report";
    public const string NotFrontal = "not frontal";
    public const string MalformedReading = "malformed reading";

    /// <summary>
    /// Faults (a missing or undecodable image, a malformed file) throw under <see cref="DatasetOptions.FailFast"/>;
    /// the rest (no text, no report) are ordinary properties of the data and are only counted.
    /// </summary>
    public static bool IsFault(string category) => category is ImageMissing or ImageUndecodable or MalformedReading;
}
