namespace SeLoRA.Adapters.Reporting;

/// <summary>A heat map written to a PNG file: its size and the pixel rectangle of every cell.</summary>
public sealed record RenderedHeatmap(string Path, int Width, int Height, IReadOnlyList<HeatmapCell> Cells);
