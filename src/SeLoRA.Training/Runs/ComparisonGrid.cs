using SeLoRA.Diffusion.Imaging;
using SkiaSharp;

namespace SeLoRA.Training.Runs;

/// <summary>
/// A PNG contact sheet of generated images next to the real images of the same prompts: each item is a pair of cells
/// ("real" left, "generated" right; only "generated" when no item has a real image) with its prompt wrapped underneath.
/// Images of any size are fitted into the cell keeping their aspect ratio.
/// </summary>
public static class ComparisonGrid
{
    const int Margin = 8;
    const int PairInnerGap = 4;
    const int PairGap = 16;
    const int HeaderHeight = 22;
    const int FontSize = 11;
    const int LineHeight = FontSize + 3;
    const int MaxColumns = 4;

    static readonly SKColor Background = SKColors.White;
    static readonly SKColor Placeholder = new(0xEC, 0xEC, 0xEC);
    static readonly SKColor Border = new(0xC8, 0xC8, 0xC8);
    static readonly SKColor Muted = new(0x70, 0x70, 0x70);

    public static void Save(IReadOnlyList<GridItem> items, string path, int cell = 128, int captionLines = 4)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (items.Count == 0) throw new ArgumentException("No items to draw.", nameof(items));
        ArgumentOutOfRangeException.ThrowIfLessThan(cell, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(captionLines, 0);
        // Every file is checked before anything is drawn, so a bad one fails fast and by name.
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i] ?? throw new ArgumentException($"Item {i} is null.", nameof(items));
            if (string.IsNullOrWhiteSpace(item.GeneratedImagePath))
                throw new ArgumentException($"Item {i} ('{Short(item.Prompt)}') has no generated image path.", nameof(items));
            RequireFile(item.GeneratedImagePath, i, "generated");
            if (item.RealImagePath is not null) RequireFile(item.RealImagePath, i, "real");
        }

        var hasReal = items.Any(i => i.RealImagePath is not null);
        var pairWidth = hasReal ? 2 * cell + PairInnerGap : cell;
        var columns = Math.Min(items.Count, MaxColumns);
        var rows = (items.Count + columns - 1) / columns;
        var captionHeight = captionLines == 0 ? 4 : captionLines * LineHeight + 8;
        var rowHeight = cell + captionHeight;
        var width = 2 * Margin + columns * pairWidth + (columns - 1) * PairGap;
        var height = 2 * Margin + HeaderHeight + rows * rowHeight;

        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(Background);
        using var typeface = ContactSheet.SansTypeface();
        using var boldTypeface = ContactSheet.SansTypeface(SKFontStyle.Bold);
        using var font = new SKFont(typeface, FontSize);
        // Headers and the placeholder text shrink to fit small cells.
        using var headerFont = ContactSheet.FittingFont(boldTypeface, 13, "generated", cell - 4);
        using var placeholderFont = ContactSheet.FittingFont(typeface, FontSize, "no real image", cell - 6);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var muted = new SKPaint { Color = Muted, IsAntialias = true };
        using var border = new SKPaint { Color = Border, IsStroke = true, StrokeWidth = 1 };
        using var placeholder = new SKPaint { Color = Placeholder };

        for (var c = 0; c < columns; c++)
        {
            var x = Margin + c * (pairWidth + PairGap);
            var baseline = Margin + HeaderHeight - 7;
            if (hasReal)
            {
                canvas.DrawText("real", x + cell / 2f, baseline, SKTextAlign.Center, headerFont, text);
                canvas.DrawText("generated", x + cell + PairInnerGap + cell / 2f, baseline, SKTextAlign.Center, headerFont, text);
            }
            else canvas.DrawText("generated", x + cell / 2f, baseline, SKTextAlign.Center, headerFont, text);
        }

        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var x = Margin + i % columns * (pairWidth + PairGap);
            var y = Margin + HeaderHeight + i / columns * rowHeight;
            var generatedX = x;
            if (hasReal)
            {
                var realCell = SKRect.Create(x, y, cell, cell);
                if (item.RealImagePath is not null) DrawImage(canvas, item.RealImagePath, realCell, i, "real");
                else
                {
                    canvas.DrawRect(realCell, placeholder);
                    canvas.DrawText("no real image", realCell.MidX, realCell.MidY + placeholderFont.Size / 2f - 1, SKTextAlign.Center, placeholderFont, muted);
                }
                canvas.DrawRect(realCell, border);
                generatedX = x + cell + PairInnerGap;
            }
            var generatedCell = SKRect.Create(generatedX, y, cell, cell);
            DrawImage(canvas, item.GeneratedImagePath, generatedCell, i, "generated");
            canvas.DrawRect(generatedCell, border);

            if (captionLines == 0) continue;
            var lines = ContactSheet.Wrap(item.Prompt ?? "", font, pairWidth - 4, captionLines);
            canvas.Save();
            // Clip so a single over-long word cannot run into the neighbouring pair.
            canvas.ClipRect(SKRect.Create(x, y + cell, pairWidth, captionHeight));
            for (var l = 0; l < lines.Count; l++)
                canvas.DrawText(lines[l], x + 2, y + cell + 4 + (l + 1) * LineHeight - 3, SKTextAlign.Left, font, text);
            canvas.Restore();
        }

        canvas.Flush();
        AtomicFile.Write(path, stream =>
        {
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new InvalidOperationException($"Could not encode the comparison grid for {path} as PNG.");
            data.SaveTo(stream);
        });
    }

    static void RequireFile(string path, int index, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Comparison grid item {index}: the {what} image {Path.GetFullPath(path)} does not exist.", path);
    }

    /// <summary>Fits the image inside the cell, keeping its aspect ratio, centred.</summary>
    static void DrawImage(SKCanvas canvas, string path, SKRect cell, int index, string what)
    {
        using var bitmap = SKBitmap.Decode(path)
            ?? throw new InvalidDataException($"Comparison grid item {index}: the {what} image {Path.GetFullPath(path)} is not a readable image.");
        ContactSheet.DrawFitted(canvas, bitmap, cell);
    }

    static string Short(string? prompt) => prompt is null ? "" : prompt.Length <= 40 ? prompt : prompt[..37] + "...";
}
