using SeLoRA.Adapters.Reporting;
using SkiaSharp;

namespace SeLoRA.Adapters.Tests.Reporting;

public sealed class RankHeatmapTests
{
    /// <summary>A sample of the figure is kept here after each run so a person can look at it.</summary>
    public static readonly string SampleDirectory = Path.Combine(Path.GetTempPath(), "selora-reporting");

    [Fact]
    public void Grid_of_the_official_preset_has_a_text_and_a_unet_panel()
    {
        var grid = RankReport.Create(Sd15Layers.OfficialPreset(Sd15Layers.PaperLikeRank)).ToHeatmapGrid();
        Assert.Equal(RankHeatmapGrid.StandardRows, grid.Rows);
        Assert.Equal([ModelComponent.TextEncoder, ModelComponent.Unet], grid.Panels.Select(p => p.Component));

        var text = grid.Panel(ModelComponent.TextEncoder)!;
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i.ToString()), text.Columns.Select(c => c.Label));
        var unet = grid.Panel(ModelComponent.Unet)!;

        Assert.Equal(22 + 16 * 3, unet.Columns.Count); // resnets, attn1, attn2, ff

        // The official preset adapts no UNet to_out: that row is empty; the text encoder's out_proj is adapted.
        Assert.All(Enumerable.Range(0, unet.Columns.Count), c => Assert.True(double.IsNaN(unet.Rank(LayerKind.Out, c))));
        Assert.All(Enumerable.Range(0, text.Columns.Count), c => Assert.False(double.IsNaN(text.Rank(LayerKind.Out, c))));
        // fc1 and fc2 share the ff cell.
        Assert.All(Enumerable.Range(0, text.Columns.Count), c => Assert.Equal(2, text.LayerCount(text.RowOf(LayerKind.FF), c)));
        var fc1 = Sd15Layers.PaperLikeRank("text_model.encoder.layers.3.mlp.fc1");
        var fc2 = Sd15Layers.PaperLikeRank("text_model.encoder.layers.3.mlp.fc2");
        Assert.Equal((fc1 + fc2) / 2.0, text.Rank(LayerKind.FF, 3));

        // Kinds exist only at their positions: time only at resnets, q only at attn1/attn2, ff only at ff.
        for (var c = 0; c < unet.Columns.Count; c++)
        {
            var position = unet.Columns[c];
            Assert.Equal(position.Unit == "resnets", !double.IsNaN(unet.Rank(LayerKind.Time, c)));
            Assert.Equal(position.Attention != AttentionRole.None, !double.IsNaN(unet.Rank(LayerKind.Q, c)));
            Assert.Equal(position.Key.EndsWith(".ff", StringComparison.Ordinal), !double.IsNaN(unet.Rank(LayerKind.FF, c)));
        }
        var crossK = unet.Columns.Select((p, c) => (p, c)).First(x => x.p.Attention == AttentionRole.Cross).c;
        Assert.Equal(Sd15Layers.PaperLikeRank("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"), unet.Rank(LayerKind.K, crossK));
        Assert.Equal(1, grid.MinRank);
        Assert.Equal(10, grid.MaxRank);
    }

    [Fact]
    public void Renders_a_png_whose_cells_show_their_rank()
    {
        var report = RankReport.Create(Sd15Layers.OfficialPreset(Sd15Layers.PaperLikeRank));
        Directory.CreateDirectory(SampleDirectory);
        var path = Path.Combine(SampleDirectory, "rank-heatmap-sd15.png");
        File.Delete(path);
        var rendered = RankHeatmap.SavePng(report, path, new RankHeatmapOptions { Width = 2000, Height = 640 });
        File.WriteAllText(Path.ChangeExtension(path, ".txt"), report.ToTable() + Environment.NewLine + report.ToSummaryText());

        Assert.Equal(Path.GetFullPath(path), rendered.Path);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal((2000, 640), (bitmap.Width, bitmap.Height));

        var text = rendered.Cells.Where(c => c.Component == ModelComponent.TextEncoder).ToList();
        var unet = rendered.Cells.Where(c => c.Component == ModelComponent.Unet).ToList();
        Assert.Equal(6 * 12, text.Count);
        Assert.Equal(6 * 70, unet.Count);
        // Panels side by side, text encoder left; rows top to bottom q, k, v, out, ff, time.
        Assert.True(text.Max(c => c.Right) < unet.Min(c => c.Left));
        Assert.True(text.Single(c => c.Kind == LayerKind.Q && c.Column == 0).Bottom <= text.Single(c => c.Kind == LayerKind.K && c.Column == 0).Top + 1);
        Assert.All(rendered.Cells, c => Assert.True(c.Left >= 0 && c.Right <= 2000 && c.Top >= 0 && c.Bottom <= 640 && c.Right - c.Left > 10, $"{c}"));

        // Same rank, same colour; different ranks, different colours; empty cells the light grey.
        var colourByRank = new Dictionary<double, SKColor>();
        foreach (var cell in rendered.Cells.Where(c => !double.IsNaN(c.Rank)))
        {
            var colour = Sample(bitmap, cell);
            if (colourByRank.TryGetValue(cell.Rank, out var seen)) Assert.True(Close(seen, colour, 6), $"{cell}: {colour} vs {seen}");
            else colourByRank[cell.Rank] = colour;
        }
        Assert.True(colourByRank.Count >= 5, $"only {colourByRank.Count} distinct ranks");
        var ranks = colourByRank.Keys.Order().ToList();
        for (var i = 1; i < ranks.Count; i++)
            Assert.False(Close(colourByRank[ranks[i - 1]], colourByRank[ranks[i]], 6), $"ranks {ranks[i - 1]} and {ranks[i]} have the same colour");
        // Viridis: dark purple at the lowest rank, yellow at the highest.
        var lowest = colourByRank[ranks[0]];
        var highest = colourByRank[ranks[^1]];
        Assert.True(lowest.Blue > lowest.Green && lowest.Red < 100, $"lowest {lowest}");
        Assert.True(highest.Red > 200 && highest.Green > 200 && highest.Blue < 100, $"highest {highest}");
        var empty = rendered.Cells.Where(c => double.IsNaN(c.Rank)).ToList();
        Assert.NotEmpty(empty);
        Assert.All(empty, c => Assert.True(Close(Sample(bitmap, c), new SKColor(0xEC, 0xEC, 0xEC), 4), $"{c}: {Sample(bitmap, c)}"));

        // Text (labels, values) is drawn: the margins hold dark pixels.
        var darkInLeftMargin = 0;
        var leftEdge = (int)text.Min(c => c.Left);
        for (var y = 0; y < 640; y++)
            for (var x = 0; x < leftEdge - 2; x++)
                if (bitmap.GetPixel(x, y).Red < 100) darkInLeftMargin++;
        Assert.True(darkInLeftMargin > 100, $"{darkInLeftMargin} dark pixels left of the heat map: are fonts rendering?");
    }

    [Fact]
    public void Renders_one_rank_everywhere_and_a_unet_only_report()
    {
        var report = RankReport.Create(
        [
            new AdaptedLayerInfo("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", 1, 640, 640),
            new AdaptedLayerInfo("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q", 1, 640, 640),
            new AdaptedLayerInfo("down_blocks.1.attentions.0.proj_in", 1, 640, 640),
        ]);
        var grid = report.ToHeatmapGrid();
        Assert.Equal(LayerKind.Other, grid.Rows[^1]);
        Assert.Equal([ModelComponent.Unet], grid.Panels.Select(p => p.Component));
        var path = Path.Combine(Path.GetTempPath(), $"selora-heatmap-{Guid.NewGuid():N}.png");
        try
        {
            var rendered = RankHeatmap.SavePng(report, path, new RankHeatmapOptions { Width = 700, Height = 400, Title = "one rank" });
            using var bitmap = SKBitmap.Decode(path);
            Assert.Equal((700, 400), (bitmap.Width, bitmap.Height));
            var filled = rendered.Cells.Where(c => !double.IsNaN(c.Rank)).Select(c => Sample(bitmap, c)).ToList();
            Assert.Equal(3, filled.Count);
            Assert.All(filled, c => Assert.True(Close(c, filled[0], 6) && !Close(c, new SKColor(0xEC, 0xEC, 0xEC), 20)));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<ArgumentException>(() => RankHeatmap.SavePng(RankReport.Create([]), path));
    }

    /// <summary>A pixel near the top-left corner of a cell, clear of the centred value text and of the block separators.</summary>
    static SKColor Sample(SKBitmap bitmap, HeatmapCell cell)
    {
        var x = (int)Math.Round(cell.Left + 0.3 * (cell.Right - cell.Left));
        var y = (int)Math.Round(cell.Top + 0.15 * (cell.Bottom - cell.Top));
        return bitmap.GetPixel(x, y);
    }

    static bool Close(SKColor a, SKColor b, int tolerance) =>
        Math.Abs(a.Red - b.Red) <= tolerance && Math.Abs(a.Green - b.Green) <= tolerance && Math.Abs(a.Blue - b.Blue) <= tolerance;
}
