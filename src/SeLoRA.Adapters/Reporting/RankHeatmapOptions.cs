namespace SeLoRA.Adapters.Reporting;

/// <summary>How <see cref="RankHeatmap"/> draws the figure.</summary>
public sealed record RankHeatmapOptions
{
    /// <summary>Image width in pixels; null: about 22 pixels per column plus margins.</summary>
    public int? Width { get; init; }

    /// <summary>Image height in pixels; null: 640.</summary>
    public int? Height { get; init; }

    public string Title { get; init; } = "Learned rank per adapted layer";

    /// <summary>Print each cell's rank in it (skipped when cells are too narrow to hold it).</summary>
    public bool ShowValues { get; init; } = true;

    /// <summary>Colour range; null: the grid's min and max rank.</summary>
    public (double Min, double Max)? RankRange { get; init; }
}
