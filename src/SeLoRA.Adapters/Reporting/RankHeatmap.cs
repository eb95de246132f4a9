using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// Draws the paper's Figure 3 with ScottPlot: rows q, k, v, out, ff, time; a text encoder panel and a UNet panel side by
/// side on one colour scale; columns are positions in model order, grouped by block; empty cells where a kind does not
/// exist (or is not adapted) at a position. Renders off-screen, so it needs no display.
/// </summary>
public static class RankHeatmap
{
    const double PanelGap = 1.6;
    const int DefaultHeight = 640;
    static readonly Color EmptyCell = Color.FromHex("#ECECEC");
    static readonly Color Separator = Color.FromHex("#404040");

    public static RenderedHeatmap SavePng(RankReport report, string path, RankHeatmapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        return SavePng(report.ToHeatmapGrid(), path, options);
    }

    public static RenderedHeatmap SavePng(RankHeatmapGrid grid, string path, RankHeatmapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new RankHeatmapOptions();
        if (grid.Panels.Count == 0) throw new ArgumentException("The rank report has no adapted layers to draw.", nameof(grid));

        var totalColumns = grid.Panels.Sum(p => p.Columns.Count) + PanelGap * (grid.Panels.Count - 1);
        var width = options.Width ?? (int)Math.Clamp(190 + 22 * totalColumns, 800, 4000);
        var height = options.Height ?? DefaultHeight;
        if (width < 200 || height < 200) throw new ArgumentOutOfRangeException(nameof(options), $"Image {width}x{height} is too small; use at least 200x200.");

        var (lo, hi) = options.RankRange ?? (grid.MinRank, grid.MaxRank);
        if (!(hi > lo)) (lo, hi) = (lo - 0.5, lo + 0.5); // one rank everywhere: centre it on the scale

        var rows = grid.Rows.Count;
        var plot = new Plot();
        try
        {
            plot.HideGrid();
            plot.Font.Set(SansFont());
            plot.Title(options.Title);
            var colormap = new ScottPlot.Colormaps.Viridis();

            var starts = new List<double>();
            var x0 = 0.0;
            ScottPlot.Plottables.Heatmap? last = null;
            var ticks = new List<Tick>();
            foreach (var panel in grid.Panels)
            {
                starts.Add(x0);
                var heatmap = plot.Add.Heatmap(panel.ToArray());
                heatmap.Colormap = colormap;
                heatmap.ManualRange = new ScottPlot.Range(lo, hi);
                heatmap.NaNCellColor = EmptyCell;
                heatmap.Rectangle = new CoordinateRect(x0 - 0.5, x0 + panel.Columns.Count - 0.5, -0.5, rows - 0.5);
                last = heatmap;

                for (var c = 0; c < panel.Columns.Count; c++)
                    ticks.Add(new Tick(x0 + c, panel.Columns[c].Label, isMajor: true));
                DrawGroups(plot, panel, x0, rows);
                var title = plot.Add.Text(panel.Component == ModelComponent.TextEncoder ? "Text encoder (layer)" : "UNet",
                    x0 + (panel.Columns.Count - 1) / 2.0, rows + 0.4);
                title.LabelFontSize = 15;
                title.LabelBold = true;
                title.LabelAlignment = Alignment.MiddleCenter;
                x0 += panel.Columns.Count + PanelGap;
            }

            var colorBar = plot.Add.ColorBar(last!);
            colorBar.Label = "rank";
            colorBar.Axis.TickGenerator = RankTicks(lo, hi);

            var cellPixels = EstimateCellWidth(width, totalColumns);
            if (options.ShowValues && cellPixels >= 14)
                for (var p = 0; p < grid.Panels.Count; p++)
                    DrawValues(plot, grid.Panels[p], starts[p], rows, lo, hi, colormap, cellPixels);

            var bottom = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            plot.Axes.Bottom.TickGenerator = bottom;
            plot.Axes.Bottom.TickLabelStyle.Rotation = 90;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
            var longest = ticks.Count == 0 ? 0 : ticks.Max(t => t.Label.Length);
            plot.Axes.Bottom.MinimumSize = (float)(12 + longest * 11 * 0.62);
            plot.Axes.Bottom.Label.Text = "position in model order";

            var left = new ScottPlot.TickGenerators.NumericManual();
            for (var r = 0; r < rows; r++)
                left.AddMajor(RowY(r, rows), LayerClassifier.KindLabel(grid.Rows[r]));
            plot.Axes.Left.TickGenerator = left;
            plot.Axes.Left.TickLabelStyle.FontSize = 14;
            plot.Axes.Left.Label.Text = "kind";

            plot.Axes.SetLimits(-0.5, x0 - PanelGap - 0.5, -0.5, rows + 0.75);

            var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            plot.SavePng(path, width, height);

            var cells = new List<HeatmapCell>();
            for (var p = 0; p < grid.Panels.Count; p++)
            {
                var panel = grid.Panels[p];
                for (var r = 0; r < rows; r++)
                    for (var c = 0; c < panel.Columns.Count; c++)
                    {
                        var topLeft = plot.GetPixel(new Coordinates(starts[p] + c - 0.5, RowY(r, rows) + 0.5));
                        var bottomRight = plot.GetPixel(new Coordinates(starts[p] + c + 0.5, RowY(r, rows) - 0.5));
                        cells.Add(new HeatmapCell(panel.Component, grid.Rows[r], panel.Columns[c].Key, r, c, panel.Rank(r, c),
                            topLeft.X, topLeft.Y, bottomRight.X, bottomRight.Y));
                    }
            }
            return new RenderedHeatmap(System.IO.Path.GetFullPath(path), width, height, cells);
        }
        finally
        {
            plot.Dispose();
        }
    }

    /// <summary>Ranks are integers: whole-number ticks, at most about ten.</summary>
    static ScottPlot.TickGenerators.NumericManual RankTicks(double lo, double hi)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var step = Math.Max(1, Math.Ceiling((hi - lo) / 10));
        for (var v = Math.Ceiling(lo); v <= hi + 1e-9; v += step)
            ticks.AddMajor(v, v.ToString("0", CultureInfo.InvariantCulture));
        return ticks;
    }

    /// <summary>A sans-serif family that is installed; Skia's default on Linux without fontconfig is often a serif.</summary>
    static string SansFont()
    {
        var installed = SKFontManager.Default.GetFontFamilies();
        foreach (var family in new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Open Sans" })
            if (installed.Contains(family, StringComparer.OrdinalIgnoreCase)) return family;
        return Fonts.Sans;
    }

    /// <summary>Row 0 (q) at the top.</summary>
    static double RowY(int row, int rows) => rows - 1 - row;

    static double EstimateCellWidth(int width, double columns) => (width - 190) / Math.Max(1, columns + 0.5);

    /// <summary>Lines between blocks (down 0, down 1, ..., mid, up 0, ...) and the block names above them.</summary>
    static void DrawGroups(Plot plot, RankHeatmapPanel panel, double x0, int rows)
    {
        var start = 0;
        for (var c = 1; c <= panel.Columns.Count; c++)
        {
            if (c < panel.Columns.Count && panel.Columns[c].Group == panel.Columns[start].Group) continue;
            var label = panel.Columns[start].GroupLabel;
            if (panel.Component == ModelComponent.Unet && label.Length > 0)
            {
                var text = plot.Add.Text(label, x0 + (start + c - 1) / 2.0, rows - 0.5 + 0.15);
                text.LabelFontSize = 12;
                text.LabelAlignment = Alignment.LowerCenter;
            }
            if (c < panel.Columns.Count)
            {
                var line = plot.Add.Line(x0 + c - 0.5, -0.5, x0 + c - 0.5, rows - 0.5 + 0.45);
                line.LineWidth = 1.5f;
                line.LineColor = Separator;
            }
            start = c;
        }
    }

    static void DrawValues(Plot plot, RankHeatmapPanel panel, double x0, int rows, double lo, double hi, IColormap colormap, double cellPixels)
    {
        var fontSize = (float)Math.Clamp(cellPixels * 0.5, 8, 13);
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < panel.Columns.Count; c++)
            {
                var value = panel.Rank(r, c);
                if (double.IsNaN(value)) continue;
                var text = plot.Add.Text(value.ToString("0.#", CultureInfo.InvariantCulture), x0 + c, RowY(r, rows));
                text.LabelFontSize = fontSize;
                text.LabelAlignment = Alignment.MiddleCenter;
                // Dark text on the light end of the colour map, light text on the dark end.
                var fraction = Math.Clamp((value - lo) / (hi - lo), 0, 1);
                text.LabelFontColor = Luminance(colormap.GetColor(fraction)) > 0.5 ? Colors.Black : Colors.White;
            }
    }

    static double Luminance(Color c) => (0.299 * c.R + 0.587 * c.G + 0.114 * c.B) / 255.0;
}
