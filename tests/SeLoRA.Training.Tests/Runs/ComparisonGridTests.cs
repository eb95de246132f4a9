using SeLoRA.Training.Runs;
using SkiaSharp;

namespace SeLoRA.Training.Tests.Runs;

public sealed class ComparisonGridTests : TempFolder
{
    static readonly SKColor Red = new(220, 30, 30);
    static readonly SKColor Blue = new(30, 60, 210);

    string Png(string name, int size, SKColor colour)
    {
        var path = Path.Combine(Folder, name);
        ImageAssert.SolidPng(path, size, size, colour);
        return path;
    }

    static (int Count, double MeanX) Where(SKBitmap bitmap, SKColor colour)
    {
        long count = 0, sumX = 0;
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++)
                if (ImageAssert.Near(bitmap.GetPixel(x, y), colour))
                {
                    count++;
                    sumX += x;
                }
        return ((int)count, count == 0 ? double.NaN : (double)sumX / count);
    }

    [Fact]
    public void Draws_the_real_image_left_and_the_generated_image_right_scaled_to_the_cell()
    {
        const int cell = 64;
        var real = Png("real.png", 256, Red);      // larger than the cell: scaled down
        var generated = Png("gen.png", 32, Blue);  // smaller than the cell: scaled up
        var path = Path.Combine(Folder, "out", "grid.png");

        ComparisonGrid.Save([new GridItem("frontal chest x-ray with a small left pleural effusion", real, generated)], path, cell);

        using var bitmap = ImageAssert.Decode(path);
        Assert.InRange(bitmap.Width, 2 * cell, 2 * cell + 60);
        Assert.InRange(bitmap.Height, cell + 20, cell + 140);
        var red = Where(bitmap, Red);
        var blue = Where(bitmap, Blue);
        // Each image fills (nearly) a whole cell; the border may take a pixel row or column.
        Assert.InRange(red.Count, (cell - 2) * (cell - 2), cell * cell);
        Assert.InRange(blue.Count, (cell - 2) * (cell - 2), cell * cell);
        Assert.True(blue.MeanX > bitmap.Width / 2.0 && red.MeanX < bitmap.Width / 2.0, $"real at x {red.MeanX}, generated at x {blue.MeanX}");
        Assert.True(ImageAssert.DistinctColours(bitmap) > 4, "no caption or header drawn");
    }

    [Fact]
    public void Lays_out_several_items_and_items_without_a_real_image()
    {
        const int cell = 48;
        var real = Png("real.png", 64, Red);
        var generated = Png("gen.png", 64, Blue);
        var items = Enumerable.Range(0, 6)
            .Select(i => new GridItem($"prompt {i} " + string.Concat(Enumerable.Repeat("words ", i * 8)), i % 2 == 0 ? real : null, generated))
            .ToList();
        var path = Path.Combine(Folder, "grid.png");

        ComparisonGrid.Save(items, path, cell, captionLines: 3);

        using var bitmap = ImageAssert.Decode(path);
        Assert.True(bitmap.Width >= 4 * 2 * cell, $"width {bitmap.Width}: expected four pairs per row");
        Assert.True(bitmap.Height >= 2 * cell, $"height {bitmap.Height}: expected two rows");
        var blue = Where(bitmap, Blue);
        var red = Where(bitmap, Red);
        Assert.InRange(blue.Count, 6 * (cell - 2) * (cell - 2), 6 * cell * cell);
        Assert.InRange(red.Count, 3 * (cell - 2) * (cell - 2), 3 * cell * cell);
    }

    [Fact]
    public void Generated_only_items_give_one_cell_per_item()
    {
        const int cell = 40;
        var generated = Png("gen.png", 64, Blue);
        var path = Path.Combine(Folder, "gen-only.png");
        ComparisonGrid.Save([new GridItem("a", null, generated), new GridItem("b", null, generated)], path, cell);
        using var bitmap = ImageAssert.Decode(path);
        Assert.True(bitmap.Width < 4 * cell, $"width {bitmap.Width}");
        Assert.InRange(Where(bitmap, Blue).Count, 2 * (cell - 2) * (cell - 2), 2 * cell * cell);
    }

    [Fact]
    public void A_missing_image_is_an_error_naming_its_path()
    {
        var generated = Png("gen.png", 16, Blue);
        var missing = Path.Combine(Folder, "no-such-real.png");
        var output = Path.Combine(Folder, "grid.png");

        var error = Assert.Throws<FileNotFoundException>(() => ComparisonGrid.Save([new GridItem("p", missing, generated)], output));
        Assert.Contains(missing, error.Message);
        Assert.False(File.Exists(output));

        var missingGenerated = Path.Combine(Folder, "no-such-gen.png");
        error = Assert.Throws<FileNotFoundException>(() => ComparisonGrid.Save([new GridItem("p", null, missingGenerated)], output));
        Assert.Contains(missingGenerated, error.Message);
    }

    [Fact]
    public void An_unreadable_image_is_an_error_naming_its_path()
    {
        var bad = Path.Combine(Folder, "bad.png");
        File.WriteAllText(bad, "not a png");
        var error = Assert.Throws<InvalidDataException>(() => ComparisonGrid.Save([new GridItem("p", null, bad)], Path.Combine(Folder, "grid.png")));
        Assert.Contains(bad, error.Message);
    }
}
