using SkiaSharp;

namespace SeLoRA.Cli.Tests;

public sealed class DataCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Synth_cxr_writes_a_folder_that_inspect_reads_and_draws()
    {
        var output = Path.Combine(_dir, "synth");
        var made = SeloraProcess.Run(_dir, null, "data", "synth-cxr", "--out", output, "--count", "12", "--size", "64", "--seed", "5");
        Assert.True(made.ExitCode == 0, made.All);
        Assert.Contains("wrote 12 images", made.Stdout);
        Assert.Equal(12, Directory.GetFiles(output, "*.png").Length);

        var grid = Path.Combine(_dir, "grid.png");
        var inspected = SeloraProcess.Run(_dir, null, "data", "inspect", "--dataset", $"folder:{output}", "--grid", grid, "--samples", "4");
        Assert.True(inspected.ExitCode == 0, inspected.All);
        Assert.Matches(@"examples\s+12", inspected.Stdout);
        Assert.Matches(@"skipped\s+0", inspected.Stdout);
        using var bitmap = SKBitmap.Decode(grid);
        Assert.Equal(4 * 192, bitmap.Width);
    }

    [Fact]
    public void A_bad_dataset_spec_or_folder_is_a_clear_error()
    {
        var kind = SeloraProcess.Run(_dir, null, "data", "inspect", "--dataset", "mnist:/nowhere");
        Assert.Equal(2, kind.ExitCode);
        Assert.Contains("mnist", kind.All);
        var empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        var none = SeloraProcess.Run(_dir, null, "data", "inspect", "--dataset", $"folder:{empty}");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains(empty, none.All);
    }
}
