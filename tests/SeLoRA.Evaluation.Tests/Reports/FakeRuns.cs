using SeLoRA.Evaluation.Reports;
using SkiaSharp;

namespace SeLoRA.Evaluation.Tests.Reports;

/// <summary>Run folders with evaluation reports and small PNGs in a temp folder, deleted on dispose.</summary>
public sealed class FakeRuns : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("selora-results-test-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    public string RunDirectory(string name) => Path.Combine(Root, name);

    /// <summary>Writes &lt;run&gt;/evaluations/&lt;checkpoint&gt;-&lt;split&gt;.json and returns the run folder.</summary>
    public string AddReport(string name, string method, string dataset, long seed, IDictionary<string, double> metrics,
        bool final = true, string split = "test", long trainable = 1000, int rank = 10, IDictionary<string, string>? details = null,
        IReadOnlyList<EvaluationSample>? samples = null, DateTimeOffset? completed = null, string checkpoint = "best", long step = 100)
    {
        var run = RunDirectory(name);
        var report = new EvaluationReport
        {
            RunName = name,
            Method = method,
            Dataset = dataset,
            Seed = seed,
            Step = step,
            CheckpointName = checkpoint,
            TrainableParameters = trainable,
            TotalRank = rank,
            Final = final,
            Split = split,
            Metrics = new SortedDictionary<string, double>(metrics, StringComparer.Ordinal),
            Details = new SortedDictionary<string, string>(details ?? new Dictionary<string, string>(), StringComparer.Ordinal),
            Samples = samples ?? [],
            CompletedUtc = completed ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        var path = Path.Combine(run, "evaluations", EvaluationReport.FileName(checkpoint, split));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, report.ToJson());
        return run;
    }

    /// <summary>A run folder with only summary.json (training finished, never evaluated).</summary>
    public string AddUnevaluated(string name)
    {
        var run = RunDirectory(name);
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "summary.json"), "{}");
        return run;
    }

    public static void WritePng(string path, int width, int height, Func<int, int, SKColor> pixel)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, pixel(x, y));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    public static Dictionary<string, double> Metrics(params (string Name, double Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value);
}
