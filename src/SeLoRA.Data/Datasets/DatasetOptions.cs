namespace SeLoRA.Data.Datasets;

/// <summary>
/// Reader options. A missing, unreadable or undecodable image (and any other per-example problem) is skipped and
/// reported in <see cref="TextImageDataset.Skipped"/>; with <see cref="FailFast"/> a fault (missing or undecodable
/// image, malformed clinical reading) throws <see cref="DatasetFormatException"/> instead, while rows without text are
/// still only counted (IU X-Ray has many). Structural problems (missing column, malformed file, empty folder)
/// always throw.
/// </summary>
public sealed record DatasetOptions
{
    public static readonly DatasetOptions Default = new();

    /// <summary>IU X-Ray (Kaggle layout): which report section is the prompt.</summary>
    public PromptSource Prompt { get; init; } = PromptSource.Findings;

    public ImageCheck Check { get; init; } = ImageCheck.Header;

    public bool FailFast { get; init; }

    /// <summary>IU X-Ray (R2Gen layout): every listed image instead of only the first (frontal) one.</summary>
    public bool AllViews { get; init; }
}
