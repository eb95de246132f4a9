using SkiaSharp;

namespace SeLoRA.Diffusion.Imaging;

/// <summary>What the image grids (training's comparison grid, the results grid) draw with: fonts, wrapped prompts, fitted images.</summary>
public static class ContactSheet
{
    static readonly string[] Preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Open Sans"];

    /// <summary>Smooth downscaling of real and generated images into cells.</summary>
    public static readonly SKSamplingOptions Sampling = new(SKCubicResampler.Mitchell);

    /// <summary>An installed sans-serif family, or null: Skia's default on Linux without fontconfig is often a serif or none.</summary>
    public static string? SansFamily()
    {
        var installed = SKFontManager.Default.GetFontFamilies();
        return Preferred.FirstOrDefault(family => installed.Contains(family, StringComparer.OrdinalIgnoreCase));
    }

    public static SKTypeface SansTypeface(SKFontStyle? style = null) =>
        SansFamily() is { } family ? SKFontManager.Default.MatchFamily(family, style ?? SKFontStyle.Normal) ?? SKTypeface.Default : SKTypeface.Default;

    /// <summary>A font of at most <paramref name="size"/> (down to 6) in which <paramref name="text"/> fits <paramref name="width"/>.</summary>
    public static SKFont FittingFont(SKTypeface typeface, float size, string text, float width)
    {
        var font = new SKFont(typeface, size);
        while (font.Size > 6 && font.MeasureText(text) > width) font.Size -= 0.5f;
        return font;
    }

    /// <summary>Draws <paramref name="bitmap"/> inside <paramref name="cell"/>, keeping its aspect ratio, centred.</summary>
    public static void DrawFitted(SKCanvas canvas, SKBitmap bitmap, SKRect cell)
    {
        using var image = SKImage.FromBitmap(bitmap);
        var scale = Math.Min(cell.Width / bitmap.Width, cell.Height / bitmap.Height);
        var w = bitmap.Width * scale;
        var h = bitmap.Height * scale;
        canvas.DrawImage(image, SKRect.Create(cell.MidX - w / 2, cell.MidY - h / 2, w, h), Sampling);
    }

    /// <summary>Word-wrapped lines, at most <paramref name="maxLines"/>; the last one ends in "..." when text was cut.</summary>
    public static List<string> Wrap(string text, SKFont font, float width, int maxLines)
    {
        var lines = new List<string>();
        var line = "";
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = line.Length == 0 ? word : line + " " + word;
            if (line.Length == 0 || font.MeasureText(candidate) <= width) line = candidate;
            else
            {
                lines.Add(line);
                line = word;
            }
        }
        if (line.Length > 0) lines.Add(line);
        if (lines.Count <= maxLines) return lines;

        lines = lines.Take(maxLines).ToList();
        var last = lines[^1];
        while (last.Length > 0 && font.MeasureText(last + "...") > width) last = last[..^1];
        lines[^1] = last.TrimEnd() + "...";
        return lines;
    }
}
