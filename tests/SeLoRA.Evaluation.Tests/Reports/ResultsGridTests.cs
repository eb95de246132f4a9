using SeLoRA.Evaluation.Reports;
using SkiaSharp;
using static SeLoRA.Evaluation.Tests.Reports.FakeRuns;

namespace SeLoRA.Evaluation.Tests.Reports;

public sealed class ResultsGridTests : IDisposable
{
    readonly FakeRuns _runs = new();

    public void Dispose() => _runs.Dispose();

    static readonly SKColor Red = new(220, 30, 30), Green = new(30, 200, 60), Blue = new(30, 60, 220), Yellow = new(240, 220, 20);

    /// <summary>Quadrants: red top-left, green top-right, blue bottom-left, yellow bottom-right.</summary>
    static SKColor Quadrant(int x, int y, int width, int height) =>
        (x < width / 2, y < height / 2) switch
        {
            (true, true) => Red,
            (false, true) => Green,
            (true, false) => Blue,
            _ => Yellow,
        };

    string Real(string id, int width = 40, int height = 40)
    {
        var path = Path.Combine(_runs.Root, "real", id + ".png");
        WritePng(path, width, height, (x, y) => Quadrant(x, y, width, height));
        return path;
    }

    /// <summary>A run whose generated images are solid <paramref name="colour"/>, one per id.</summary>
    ResultsRun Run(string name, string method, long seed, SKColor colour, IReadOnlyList<(string Id, string Real)> items, string dataset = "d")
    {
        var samples = items.Select(i =>
        {
            var relative = Path.Combine("evaluations", "images", i.Id + ".png");
            WritePng(Path.Combine(_runs.RunDirectory(name), relative), 24, 24, (_, _) => colour);
            return new EvaluationSample(i.Id, $"prompt of {i.Id}: heart size normal, no effusion", i.Real, relative);
        }).ToList();
        var run = _runs.AddReport(name, method, dataset, seed, Metrics(("fid", 1)), samples: samples);
        return new ResultsRun(run, ResultsLoader.Select(ResultsLoader.ReadReports(run), "test")!);
    }

    static void AssertPixel(SKBitmap bitmap, int x, int y, SKColor expected, int tolerance = 2)
    {
        var actual = bitmap.GetPixel(x, y);
        Assert.True(Math.Abs(actual.Red - expected.Red) <= tolerance && Math.Abs(actual.Green - expected.Green) <= tolerance
                    && Math.Abs(actual.Blue - expected.Blue) <= tolerance, $"pixel ({x}, {y}) is {actual}, expected {expected}");
    }

    [Fact]
    public void The_grid_has_one_row_per_prompt_and_a_column_per_method_after_the_real_one()
    {
        var items = new[] { "a", "b", "c" }.Select(id => (id, Real(id))).ToList();
        var runs = new List<ResultsRun> { Run("selora-0", "selora", 0, Blue, items), Run("lora-0", "lora", 0, Red, items) };
        const int cell = 64;
        var two = ResultsGrid.Save(runs, "d", Path.Combine(_runs.Root, "two.png"), prompts: 3, cell: cell);
        Assert.Equal((3, 3), (two.Rows, two.Columns));
        Assert.Equal(["real", "LoRA (seed 0)", "SeLoRA (seed 0)"], two.ColumnTitles);
        using (var png = SKBitmap.Decode(two.Path))
        {
            Assert.Equal((two.Width, two.Height), (png.Width, png.Height));
            // Margins, the prompt column, three cells and the gaps between them; a header above three rows.
            Assert.Equal(2 * ResultsGrid.Margin + ResultsGrid.PromptWidth + ResultsGrid.Gap + 3 * cell + 2 * ResultsGrid.Gap, png.Width);
            Assert.Equal(2 * ResultsGrid.Margin + ResultsGrid.HeaderHeight + 3 * cell + 2 * ResultsGrid.Gap, png.Height);
        }

        // One more method adds one column, one fewer prompt removes one row: each exactly a cell and a gap.
        runs.Add(Run("dylora-0", "dylora", 0, Green, items));
        var three = ResultsGrid.Save(runs, "d", Path.Combine(_runs.Root, "three.png"), prompts: 2, cell: cell);
        Assert.Equal(two.Width + cell + ResultsGrid.Gap, three.Width);
        Assert.Equal(two.Height - cell - ResultsGrid.Gap, three.Height);
        Assert.Equal(["a", "b"], three.SampleIds);
    }

    [Fact]
    public void Real_cells_hold_the_scaled_source_and_method_columns_their_lowest_seed_images()
    {
        var items = new[] { ("square", Real("square")), ("wide", Real("wide", 40, 20)) };
        var runs = new[]
        {
            Run("selora-1", "selora", 1, Green, items),
            Run("selora-0", "selora", 0, Blue, items),
            Run("lora-2", "lora", 2, Red, items),
        };
        const int cell = 80; // 40-pixel sources scale by 2
        var grid = ResultsGrid.Save(runs, "d", Path.Combine(_runs.Root, "grid.png"), cell: cell);
        Assert.Equal(["real", "LoRA (seed 2)", "SeLoRA (seed 0)"], grid.ColumnTitles);
        using var png = SKBitmap.Decode(grid.Path);

        // Square source: the cell pixel (2x, 2y) shows source pixel (x, y), sampled inside each quadrant.
        var (x0, y0) = grid.CellOrigin(0, 0);
        foreach (var (sx, sy) in new[] { (10, 10), (30, 10), (10, 30), (30, 30) })
            AssertPixel(png, x0 + 2 * sx, y0 + 2 * sy, Quadrant(sx, sy, 40, 40));

        // 40x20 source: scaled to 80x40 and centred vertically, with background above and below.
        var (x1, y1) = grid.CellOrigin(1, 0);
        AssertPixel(png, x1 + 40, y1 + 10, SKColors.White);
        AssertPixel(png, x1 + 40, y1 + 70, SKColors.White);
        foreach (var (sx, sy) in new[] { (10, 5), (30, 5), (10, 15), (30, 15) })
            AssertPixel(png, x1 + 2 * sx, y1 + 20 + 2 * sy, Quadrant(sx, sy, 40, 20));

        for (var row = 0; row < 2; row++)
        {
            var (lx, ly) = grid.CellOrigin(row, 1);
            AssertPixel(png, lx + cell / 2, ly + cell / 2, Red);
            var (sx, sy) = grid.CellOrigin(row, 2);
            AssertPixel(png, sx + cell / 2, sy + cell / 2, Blue);
        }
    }

    [Fact]
    public void Rows_are_the_first_samples_every_shown_run_has()
    {
        var real = Real("any");
        var lora = Run("lora", "lora", 0, Red, [("a", real), ("b", real), ("c", real), ("e", real)]);
        var selora = Run("selora", "selora", 0, Blue, [("c", real), ("d", real), ("b", real), ("e", real)]);
        var grid = ResultsGrid.Save([selora, lora], "d", Path.Combine(_runs.Root, "g.png"), prompts: 2, cell: 32);
        Assert.Equal(["b", "c"], grid.SampleIds);

        var other = Run("other", "adalora", 0, Green, [("z", real)]);
        var (images, warnings) = ResultsGrid.SaveAll([lora, selora, other], Path.Combine(_runs.Root, "out"), prompts: 2, cell: 32);
        Assert.Empty(images);
        Assert.Contains(warnings, w => w.Contains("no evaluation sample id in common"));
    }

    [Fact]
    public void Grids_are_written_per_dataset_and_missing_images_become_warned_placeholders()
    {
        var real = Real("r");
        var a = Run("lora-a", "lora", 0, Red, [("1", real)], dataset: "iu-xray");
        var b = Run("lora-b", "lora", 0, Red, [("1", Path.Combine(_runs.Root, "gone.png"))], dataset: "folder:/data/montgomery");
        var (images, warnings) = ResultsGrid.SaveAll([a, b], Path.Combine(_runs.Root, "out"), cell: 32);
        Assert.Equal(2, images.Count);
        Assert.True(File.Exists(Path.Combine(_runs.Root, "out", "results-grid-iu-xray.png")));
        Assert.True(File.Exists(Path.Combine(_runs.Root, "out", "results-grid-folder--data-montgomery.png")));
        var warning = Assert.Single(warnings);
        Assert.Contains(Path.Combine(_runs.Root, "gone.png"), warning);
        using var png = SKBitmap.Decode(images.Single(i => i.Dataset.StartsWith("folder")).Path);
        var (x, y) = images.Single(i => i.Dataset.StartsWith("folder")).CellOrigin(0, 0);
        AssertPixel(png, x + 3, y + 3, new SKColor(0xEC, 0xEC, 0xEC));
    }
}
