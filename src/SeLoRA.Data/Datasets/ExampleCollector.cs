namespace SeLoRA.Data.Datasets;

/// <summary>Shared bookkeeping for readers: collects examples and skips, throwing instead of skipping under FailFast.</summary>
internal sealed class ExampleCollector(string spec, DatasetOptions options)
{
    private readonly List<TextImageExample> examples = [];
    private readonly List<SkippedItem> skipped = [];
    private readonly HashSet<string> ids = new(StringComparer.Ordinal);

    public DatasetOptions Options => options;

    public void Skip(string file, int line, string category, string detail)
    {
        if (options.FailFast && SkipCategories.IsFault(category)) throw new DatasetFormatException(file, line, $"{category}: {detail}");
        skipped.Add(new SkippedItem(file, line, category, detail));
    }

    /// <summary>Skips (or throws) and returns false when the image fails the configured check.</summary>
    public bool ImageOk(string file, int line, string imagePath)
    {
        var problem = ImageProbe.Problem(imagePath, options.Check);
        if (problem is not { } p) return true;
        Skip(file, line, p.Category, p.Detail);
        return false;
    }

    public void Add(string file, int line, TextImageExample example)
    {
        if (!ids.Add(example.Id)) throw new DatasetFormatException(file, line, $"duplicate id '{example.Id}'.");
        examples.Add(example);
    }

    /// <summary>The dataset; throws naming <paramref name="source"/> when nothing usable was found.</summary>
    public TextImageDataset Build(string source)
    {
        if (examples.Count == 0)
        {
            var why = skipped.Count == 0
                ? "no examples found."
                : $"no usable examples; all {skipped.Count} skipped, first: {skipped[0]}";
            throw new DatasetFormatException(source, 0, why);
        }
        return new TextImageDataset(spec, examples.ToArray(), skipped.ToArray());
    }

    /// <summary>Collapses runs of whitespace (reports carry line breaks and double spaces) and trims.</summary>
    public static string CleanText(string? text) =>
        string.IsNullOrWhiteSpace(text)
            ? ""
            : string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
