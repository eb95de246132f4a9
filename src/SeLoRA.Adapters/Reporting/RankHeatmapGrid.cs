namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// The data of the paper's Figure 3: rows q, k, v, out, ff, time (and other, when any such layer is adapted), a text
/// encoder panel and a UNet panel whose columns are the positions holding adapted layers, in model order.
/// </summary>
public sealed class RankHeatmapGrid
{
    /// <summary>The rows every grid has, also when a kind is not adapted (an empty row shows it).</summary>
    public static readonly IReadOnlyList<LayerKind> StandardRows =
        [LayerKind.Q, LayerKind.K, LayerKind.V, LayerKind.Out, LayerKind.FF, LayerKind.Time];

    RankHeatmapGrid(IReadOnlyList<LayerKind> rows, IReadOnlyList<RankHeatmapPanel> panels)
    {
        Rows = rows;
        Panels = panels;
        var values = panels
            .SelectMany(p => Enumerable.Range(0, rows.Count).SelectMany(r => Enumerable.Range(0, p.Columns.Count).Select(c => p.Rank(r, c))))
            .Where(v => !double.IsNaN(v))
            .ToList();
        MinRank = values.Count == 0 ? double.NaN : values.Min();
        MaxRank = values.Count == 0 ? double.NaN : values.Max();
    }

    public IReadOnlyList<LayerKind> Rows { get; }

    /// <summary>Text encoder first, then UNet; a component without adapted layers has no panel.</summary>
    public IReadOnlyList<RankHeatmapPanel> Panels { get; }

    /// <summary>Smallest non-empty cell value (NaN when the grid is empty).</summary>
    public double MinRank { get; }

    public double MaxRank { get; }

    public RankHeatmapPanel? Panel(ModelComponent component) => Panels.FirstOrDefault(p => p.Component == component);

    public static RankHeatmapGrid From(RankReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = StandardRows.ToList();
        if (report.Rows.Any(r => r.Kind == LayerKind.Other)) rows.Add(LayerKind.Other);
        var panels = new List<RankHeatmapPanel>();
        foreach (var component in Enum.GetValues<ModelComponent>())
        {
            var layers = report.Rows.Where(r => r.Component == component).ToList();
            if (layers.Count == 0) continue;
            var columns = layers.Select(l => l.Position).DistinctBy(p => p.Key, StringComparer.Ordinal).Order().ToList();
            panels.Add(new RankHeatmapPanel(component, rows, columns, layers));
        }
        return new RankHeatmapGrid(rows, panels);
    }
}
