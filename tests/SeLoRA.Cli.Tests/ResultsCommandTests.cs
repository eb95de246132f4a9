using System.Globalization;
using SeLoRA.Evaluation.Reports;
using SeLoRA.Training.Runs;
using SkiaSharp;

namespace SeLoRA.Cli.Tests;

public sealed class ResultsCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-results-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Runs => Path.Combine(_dir, "runs");

    static void WritePng(string path, SKColor colour)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(16, 16, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(colour);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    static void WriteReport(string run, EvaluationReport report)
    {
        var path = Path.Combine(run, "evaluations", EvaluationReport.FileName(report.CheckpointName, report.Split));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, report.ToJson());
    }

    static void WriteSummary(string run, string method, long seed, long? bestStep = null) =>
        new RunSummary
        {
            RunName = Path.GetFileName(run),
            Method = method,
            ConfigHash = "x",
            BaseModel = "tiny",
            Dataset = "iu-xray",
            Seed = seed,
            BestStep = bestStep,
            TrainableParametersEnd = 1234,
            TotalRankEnd = 12,
        }.WriteJson(Path.Combine(run, "summary.json"));

    /// <summary>LoRA and SeLoRA, seeds 0-2, FID = 10 x (method index + 1) + seed, two prompts with images; one run never evaluated.</summary>
    void MakeRuns()
    {
        var real = Path.Combine(_dir, "real", "p1.png");
        WritePng(real, SKColors.Gray);
        foreach (var (method, index) in new[] { ("lora", 0), ("selora", 1) })
            for (var seed = 0; seed < 3; seed++)
            {
                var run = Path.Combine(Runs, $"{method}-{seed}");
                WriteSummary(run, method, seed, bestStep: 100);
                var samples = new[] { "p1", "p2" }.Select(id =>
                {
                    WritePng(Path.Combine(run, "evaluations", "images", id + ".png"), index == 0 ? SKColors.Red : SKColors.Blue);
                    return new EvaluationSample(id, $"prompt {id}", real, Path.Combine("evaluations", "images", id + ".png"));
                }).ToList();
                WriteReport(run, new EvaluationReport
                {
                    RunName = $"{method}-{seed}", Method = method, Dataset = "iu-xray", Seed = seed, Step = 100, CheckpointName = "best",
                    Final = true, Split = "test", TrainableParameters = 1000 * (index + 1), TotalRank = 8,
                    Metrics = new(StringComparer.Ordinal) { ["fid"] = 10 * (index + 1) + seed, ["clip-score"] = 20 + index },
                    Samples = samples,
                });
                // Valid reports: the summary's best step (100) has FID 7, a later step a lower loss but FID 9.
                WriteReport(run, new EvaluationReport
                {
                    RunName = $"{method}-{seed}", Method = method, Dataset = "iu-xray", Seed = seed, Step = 100, CheckpointName = "step-100", Split = "valid",
                    Metrics = new(StringComparer.Ordinal) { ["fid"] = 7, ["validation-loss"] = 0.5 },
                });
                WriteReport(run, new EvaluationReport
                {
                    RunName = $"{method}-{seed}", Method = method, Dataset = "iu-xray", Seed = seed, Step = 200, CheckpointName = "step-200", Split = "valid",
                    Metrics = new(StringComparer.Ordinal) { ["fid"] = 9, ["validation-loss"] = 0.1 },
                });
            }
        WriteSummary(Path.Combine(Runs, "lora-9"), "lora", 9);
    }

    [Fact]
    public void Csv_to_stdout_files_to_out_and_a_warning_for_the_unevaluated_run()
    {
        MakeRuns();
        var output = Path.Combine(_dir, "out");
        var result = SeloraProcess.Run(_dir, null, "results", Runs, "--format", "csv", "--out", output, "--grid-prompts", "2");
        Assert.True(result.ExitCode == 0, result.All);
        var unevaluated = Path.Combine(Runs, "lora-9");
        Assert.Contains($"warning: run {unevaluated} has no final test evaluation: run `selora eval --run {unevaluated}`", result.Stderr);

        var lines = result.Stdout.Trim().Split('\n').Select(l => l.TrimEnd('\r').Split(',')).ToList();
        Assert.Equal(3, lines.Count);
        var header = lines[0].ToList();
        double Field(string method, string column) =>
            double.Parse(lines.Single(l => l[0] == method)[header.IndexOf(column)], CultureInfo.InvariantCulture);
        // LoRA FID 10, 11, 12: 11 ± 1; SeLoRA 20, 21, 22: 21 ± 1.
        Assert.Equal(11, Field("lora", "fid_mean"), 12);
        Assert.Equal(1, Field("lora", "fid_std"), 12);
        Assert.Equal(21, Field("selora", "fid_mean"), 12);
        Assert.Equal(3, Field("selora", "n"));
        Assert.Equal("true", lines.Single(l => l[0] == "lora")[header.IndexOf("fid_best")]);
        Assert.Equal("true", lines.Single(l => l[0] == "selora")[header.IndexOf("clip-score_best")]);

        Assert.Equal(result.Stdout, File.ReadAllText(Path.Combine(output, "results.csv")));
        Assert.Contains("| LoRA | **11.00 ± 1.00** | 20.00 ± 0.00 |", File.ReadAllText(Path.Combine(output, "results.md")));
        using var grid = SKBitmap.Decode(Path.Combine(output, "results-grid-iu-xray.png"));
        Assert.Equal(ResultsGrid.Size(rows: 2, columns: 3, cell: 128), (grid.Width, grid.Height));
    }

    [Fact]
    public void Terminal_table_and_markdown_and_the_valid_split_at_the_best_step()
    {
        MakeRuns();
        var table = SeloraProcess.Run(_dir, null, "results", Runs);
        Assert.True(table.ExitCode == 0, table.All);
        Assert.Contains("iu-xray", table.Stdout);
        Assert.Contains("11.00 ± 1.00", table.Stdout);
        Assert.True(table.Stdout.IndexOf("LoRA", StringComparison.Ordinal) < table.Stdout.IndexOf("SeLoRA", StringComparison.Ordinal));

        // Two run folders given one by one; valid picks the summary's best step (FID 7), not the lowest loss (FID 9).
        var markdown = SeloraProcess.Run(_dir, null, "results", Path.Combine(Runs, "lora-0"), Path.Combine(Runs, "selora-0"),
            "--format", "markdown", "--split", "valid");
        Assert.True(markdown.ExitCode == 0, markdown.All);
        Assert.Contains("| Method | iu-xray FID ↓ | iu-xray Validation loss ↓ |", markdown.Stdout);
        // Equal values tie: both are best.
        Assert.Contains("| LoRA | **7.00 (n=1)** | **0.5000 (n=1)** |", markdown.Stdout);
    }

    [Fact]
    public void A_missing_folder_and_a_folder_without_evaluations_are_errors_that_name_the_path()
    {
        var missing = Path.Combine(_dir, "no-such-runs");
        var result = SeloraProcess.Run(_dir, null, "results", missing);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(missing, result.All);

        WriteSummary(Path.Combine(Runs, "lora-0"), "lora", 0);
        var none = SeloraProcess.Run(_dir, null, "results", Runs);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains($"no run under {Runs} has a final test evaluation", none.All);
        Assert.Contains("has no final test evaluation", none.Stderr);
    }
}
