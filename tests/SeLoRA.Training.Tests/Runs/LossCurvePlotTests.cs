using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Tests.Runs;

public sealed class LossCurvePlotTests : TempFolder
{
    static List<StepMetric> Steps(int n, Func<int, double>? loss = null, Func<int, int>? rank = null) =>
        Enumerable.Range(1, n).Select(i => new StepMetric(i, i / 25, loss?.Invoke(i) ?? 0.3 * Math.Exp(-i / 80.0) + 0.05 * Math.Sin(i), 1e-4,
            rank?.Invoke(i) ?? 40, i * 0.1)).ToList();

    void AssertPlot(string path)
    {
        using var bitmap = ImageAssert.Decode(path);
        Assert.Equal(LossCurvePlot.Width, bitmap.Width);
        Assert.Equal(LossCurvePlot.Height, bitmap.Height);
        Assert.True(ImageAssert.DistinctColours(bitmap) > 10, "the plot is (nearly) one colour");
    }

    [Fact]
    public void Draws_losses_validations_and_a_growing_rank()
    {
        var steps = Steps(300, rank: i => 40 + i / 30);
        var validations = new List<ValidationMetric>
        {
            new(0, 0, 0.31, true, 0), new(100, 4, 0.22, true, 10), new(200, 8, 0.18, true, 20), new(300, 12, 0.19, false, 30),
        };
        var path = Path.Combine(Folder, "plots", "loss.png");
        LossCurvePlot.Save(steps, validations, path, "selora on synth-cxr");
        AssertPlot(path);
    }

    [Fact]
    public void Draws_a_single_step_without_validations()
    {
        var path = Path.Combine(Folder, "one.png");
        LossCurvePlot.Save(Steps(1), [], path);
        AssertPlot(path);
    }

    [Fact]
    public void Skips_non_finite_losses()
    {
        var path = Path.Combine(Folder, "nan.png");
        var steps = Steps(60, loss: i => i % 7 == 0 ? double.NaN : i == 30 ? double.PositiveInfinity : 1.0 / i);
        LossCurvePlot.Save(steps, [new ValidationMetric(30, 1, double.NaN, false, 3), new ValidationMetric(60, 2, 0.02, true, 6)], path);
        AssertPlot(path);
    }

    [Fact]
    public void All_losses_non_finite_still_gives_a_plot()
    {
        var path = Path.Combine(Folder, "allnan.png");
        LossCurvePlot.Save(Steps(5, loss: _ => double.NaN), [], path);
        AssertPlot(path);
    }

    [Fact]
    public void Nothing_to_plot_is_an_error()
    {
        Assert.Throws<ArgumentException>(() => LossCurvePlot.Save([], [], Path.Combine(Folder, "none.png")));
    }

    [Fact]
    public void The_moving_average_is_a_trailing_mean()
    {
        Assert.Equal([1.0, 1.5, 2.5, 3.5], LossCurvePlot.MovingAverage([1, 2, 3, 4], 2));
    }
}
