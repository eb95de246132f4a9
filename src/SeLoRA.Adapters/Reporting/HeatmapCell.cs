namespace SeLoRA.Adapters.Reporting;

/// <summary>Where a cell of the rendered heat map is in the image (pixels, origin top left), and what it shows.</summary>
/// <param name="Rank">The cell's rank (mean when several layers share it), NaN for an empty cell.</param>
public sealed record HeatmapCell(
    ModelComponent Component,
    LayerKind Kind,
    string PositionKey,
    int Row,
    int Column,
    double Rank,
    float Left,
    float Top,
    float Right,
    float Bottom);
