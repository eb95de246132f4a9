namespace SeLoRA.Training.Runs;

/// <summary>The sans-serif family plots use (see <see cref="SeLoRA.Diffusion.Imaging.ContactSheet.SansFamily"/>).</summary>
static class PlotFonts
{
    public static string SansFamily() => SeLoRA.Diffusion.Imaging.ContactSheet.SansFamily() ?? ScottPlot.Fonts.Sans;
}
