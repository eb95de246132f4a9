using SkiaSharp;

namespace SeLoRA.Training.Runs;

/// <summary>A sans-serif family that is installed; Skia's default on Linux without fontconfig is often a serif.</summary>
static class PlotFonts
{
    static readonly string[] Preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Open Sans"];

    public static string SansFamily()
    {
        var installed = SKFontManager.Default.GetFontFamilies();
        foreach (var family in Preferred)
            if (installed.Contains(family, StringComparer.OrdinalIgnoreCase)) return family;
        return ScottPlot.Fonts.Sans;
    }

    public static SKTypeface SansTypeface(SKFontStyle? style = null) =>
        SKFontManager.Default.MatchFamily(SansFamily(), style ?? SKFontStyle.Normal) ?? SKTypeface.Default;
}
