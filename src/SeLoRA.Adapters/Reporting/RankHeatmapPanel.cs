namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// One panel of the rank heat map (text encoder or UNet): rows are kinds, columns positions in model order. A cell holds
/// the rank of the layer of that kind at that position, the mean when several share it (CLIP <c>mlp.fc1</c> and
/// <c>mlp.fc2</c>, UNet <c>ff.net.0.proj</c> and <c>ff.net.2</c>), and NaN where no such layer is adapted.
/// </summary>
public sealed class RankHeatmapPanel
{
    readonly double[,] ranks;
    readonly int[,] counts;

    internal RankHeatmapPanel(ModelComponent component, IReadOnlyList<LayerKind> rows, IReadOnlyList<LayerPosition> columns,
                              IReadOnlyList<RankReportRow> layers)
    {
        Component = component;
        Rows = rows;
        Columns = columns;
        ranks = new double[rows.Count, columns.Count];
        counts = new int[rows.Count, columns.Count];
        var rowOf = rows.Select((k, i) => (k, i)).ToDictionary(x => x.k, x => x.i);
        var columnOf = columns.Select((p, i) => (p.Key, i)).ToDictionary(x => x.Key, x => x.i, StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            var (r, c) = (rowOf[layer.Kind], columnOf[layer.Position.Key]);
            ranks[r, c] += layer.Rank;
            counts[r, c]++;
        }
        for (var r = 0; r < rows.Count; r++)
            for (var c = 0; c < columns.Count; c++)
                ranks[r, c] = counts[r, c] == 0 ? double.NaN : ranks[r, c] / counts[r, c];
    }

    public ModelComponent Component { get; }

    public IReadOnlyList<LayerKind> Rows { get; }

    public IReadOnlyList<LayerPosition> Columns { get; }

    /// <summary>Mean rank in a cell, NaN when empty.</summary>
    public double Rank(int row, int column) => ranks[row, column];

    public double Rank(LayerKind kind, int column) => ranks[RowOf(kind), column];

    /// <summary>How many layers a cell averages.</summary>
    public int LayerCount(int row, int column) => counts[row, column];

    public int RowOf(LayerKind kind)
    {
        for (var i = 0; i < Rows.Count; i++)
            if (Rows[i] == kind) return i;
        throw new ArgumentException($"The heat map has no row for kind {kind}.", nameof(kind));
    }

    /// <summary>Copy of the cells, [row, column].</summary>
    public double[,] ToArray() => (double[,])ranks.Clone();
}
