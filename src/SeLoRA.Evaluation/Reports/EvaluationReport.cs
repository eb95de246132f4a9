using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// One checkpoint's evaluation as written to &lt;run&gt;/evaluations/&lt;checkpoint&gt;-&lt;split&gt;.json. Metric keys
/// are stable names ("fd-resnet18", "fid", "clip-score", "finding-accuracy", "finding-auc", "validation-loss");
/// <see cref="Details"/> says, per metric, what produced it (network, resize, image counts), because FD-ResNet18 and
/// FID, or two resizes, are not comparable.
/// </summary>
public sealed record EvaluationReport
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    public required string RunName { get; init; }
    public string Method { get; init; } = "";
    public string Dataset { get; init; } = "";
    public long Seed { get; init; }
    public long Step { get; init; }
    public string CheckpointName { get; init; } = "";

    /// <summary>Trainable adapter parameters of the evaluated checkpoint.</summary>
    public long TrainableParameters { get; init; }

    /// <summary>Total adapter rank of the evaluated checkpoint.</summary>
    public int TotalRank { get; init; }

    /// <summary>True for the final test evaluation of the run's best checkpoint (what `selora results` tabulates).</summary>
    public bool Final { get; init; }

    /// <summary>"valid" or "test".</summary>
    public required string Split { get; init; }

    /// <summary>Metric name to value.</summary>
    public SortedDictionary<string, double> Metrics { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Metric name to a one-line description of how it was measured.</summary>
    public SortedDictionary<string, string> Details { get; init; } = new(StringComparer.Ordinal);

    public int GeneratedCount { get; init; }
    public int RealCount { get; init; }
    public int InferenceSteps { get; init; }
    public double Guidance { get; init; }
    public long GenerationSeed { get; init; }
    public int Resolution { get; init; }

    /// <summary>Generated images, relative to the run folder, in prompt order.</summary>
    public IReadOnlyList<EvaluationSample> Samples { get; init; } = [];

    public double WallSeconds { get; init; }
    public DateTimeOffset CompletedUtc { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report; errors name the file.</summary>
    public static EvaluationReport Read(string path)
    {
        try
        {
            var report = JsonSerializer.Deserialize<EvaluationReport>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path}: empty evaluation report");
            if (report.Version > CurrentVersion)
                throw new InvalidDataException($"{path}: evaluation report version {report.Version} is newer than this build reads ({CurrentVersion})");
            return report;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not an evaluation report ({e.Message})", e);
        }
    }

    /// <summary>The file name a report of <paramref name="checkpointName"/> on <paramref name="split"/> gets.</summary>
    public static string FileName(string checkpointName, string split) => $"{checkpointName}-{split}.json";
}
