using System.Globalization;
using ScottPlot;

namespace SeLoRA.Training.Runs;

/// <summary>
/// The run's loss curve as a PNG: training loss per step (thin, light) with its moving average, validation losses as
/// joined markers with the best one ringed, and the total rank on a right-hand axis when it changed. Non-finite losses
/// are left out. Renders off-screen with ScottPlot.
/// </summary>
public static class LossCurvePlot
{
    public const int Width = 1000;
    public const int Height = 600;

    static readonly Color RawLoss = Color.FromHex("#9DB7D5");
    static readonly Color AverageLoss = Color.FromHex("#1F4E9A");
    static readonly Color Validation = Color.FromHex("#D9480F");
    static readonly Color Best = Color.FromHex("#2B8A3E");
    static readonly Color Rank = Color.FromHex("#6C6C6C");

    public static void Save(IReadOnlyList<StepMetric> steps, IReadOnlyList<ValidationMetric> validations, string path, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(validations);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (steps.Count == 0 && validations.Count == 0) throw new ArgumentException("No steps and no validations to plot.", nameof(steps));

        var finiteSteps = steps.Where(s => double.IsFinite(s.Loss)).OrderBy(s => s.Step).ToList();
        var finiteValidations = validations.Where(v => double.IsFinite(v.Loss)).OrderBy(v => v.Step).ToList();

        using var plot = new Plot();
        plot.Font.Set(PlotFonts.SansFamily());
        plot.Title(title ?? "Loss");
        plot.XLabel("step");
        plot.YLabel("loss");

        if (finiteSteps.Count > 0)
        {
            var xs = finiteSteps.Select(s => (double)s.Step).ToArray();
            var ys = finiteSteps.Select(s => s.Loss).ToArray();
            var raw = plot.Add.Scatter(xs, ys, RawLoss);
            raw.LineWidth = 1;
            // Few points: show them as dots too, or a single step would not show at all.
            raw.MarkerSize = xs.Length == 1 ? 9 : xs.Length <= 50 ? 4 : 0;
            raw.LegendText = "training loss";

            var window = Math.Max(1, xs.Length / 50);
            if (window > 1)
            {
                var average = plot.Add.Scatter(xs, MovingAverage(ys, window), AverageLoss);
                average.LineWidth = 2.5f;
                average.MarkerSize = 0;
                average.LegendText = $"moving average ({window} steps)";
            }
        }

        if (finiteValidations.Count > 0)
        {
            var xs = finiteValidations.Select(v => (double)v.Step).ToArray();
            var ys = finiteValidations.Select(v => v.Loss).ToArray();
            var line = plot.Add.Scatter(xs, ys, Validation);
            line.LineWidth = 1.5f;
            line.MarkerSize = 7;
            line.MarkerShape = MarkerShape.FilledCircle;
            line.LegendText = "validation loss";

            var best = finiteValidations.MinBy(v => v.Loss)!;
            var marker = plot.Add.Marker(best.Step, best.Loss, MarkerShape.OpenCircle, 18, Best);
            marker.MarkerLineWidth = 2.5f;
            marker.LegendText = string.Create(CultureInfo.InvariantCulture, $"best validation {best.Loss:0.####} (step {best.Step})");
        }

        var ranked = steps.OrderBy(s => s.Step).ToList();
        if (ranked.Select(s => s.TotalRank).Distinct().Count() > 1)
        {
            var rank = plot.Add.Scatter(ranked.Select(s => (double)s.Step).ToArray(), ranked.Select(s => (double)s.TotalRank).ToArray(), Rank);
            rank.ConnectStyle = ConnectStyle.StepHorizontal;
            rank.LineWidth = 1.5f;
            rank.LinePattern = LinePattern.Dashed;
            rank.MarkerSize = 0;
            rank.LegendText = "total rank (right axis)";
            rank.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "total rank";
            plot.Axes.Right.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        }
        else if (ranked.Count > 0)
        {
            plot.Axes.Right.Label.Text = string.Create(CultureInfo.InvariantCulture, $"total rank {ranked[0].TotalRank} (constant)");
        }

        var skipped = steps.Count - finiteSteps.Count + validations.Count - finiteValidations.Count;
        if (finiteSteps.Count == 0 && finiteValidations.Count == 0)
            plot.Add.Annotation("no finite loss to plot");
        else if (skipped > 0)
            plot.Add.Annotation(string.Create(CultureInfo.InvariantCulture, $"{skipped} non-finite loss value{(skipped == 1 ? "" : "s")} not drawn"), Alignment.LowerLeft);

        // Below the axes, so it never hides the curves. An empty legend makes ScottPlot render a blank image.
        if (plot.GetPlottables().Any(p => p.LegendItems.Any(i => !string.IsNullOrEmpty(i.LabelText))))
            plot.ShowLegend(Edge.Bottom);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.AutoScale();
        if (finiteSteps.Count == 0 && finiteValidations.Count == 0)
        {
            var last = Math.Max(1L, Math.Max(steps.Count > 0 ? steps.Max(m => m.Step) : 0, validations.Count > 0 ? validations.Max(v => v.Step) : 0));
            plot.Axes.SetLimits(0, last, 0, 1);
        }

        AtomicFile.CreateParent(path);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>Trailing mean over the last <paramref name="window"/> points (fewer at the start).</summary>
    public static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
