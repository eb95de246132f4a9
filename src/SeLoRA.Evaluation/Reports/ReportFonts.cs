using SkiaSharp;

namespace SeLoRA.Evaluation.Reports;

/// <summary>An installed sans-serif typeface; Skia's default on Linux without fontconfig is often a serif or none.</summary>
static class ReportFonts
{
    static readonly string[] Preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Open Sans"];

    public static SKTypeface Sans(SKFontStyle? style = null)
    {
        var installed = SKFontManager.Default.GetFontFamilies();
        foreach (var family in Preferred)
            if (installed.Contains(family, StringComparer.OrdinalIgnoreCase))
                return SKFontManager.Default.MatchFamily(family, style ?? SKFontStyle.Normal) ?? SKTypeface.Default;
        return SKTypeface.Default;
    }
}
