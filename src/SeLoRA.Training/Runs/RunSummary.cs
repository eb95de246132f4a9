using System.Text.Json;
using System.Text.Json.Serialization;
using SeLoRA.Adapters.Reporting;

namespace SeLoRA.Training.Runs;

/// <summary>What a run's summary.md and its closing console lines report. Paths in <see cref="Artefacts"/> are relative to the run folder.</summary>
public sealed record RunSummary
{
    public required string RunName { get; init; }

    /// <summary>The adapter method as the user names it (selora, lora, adalora, dylora).</summary>
    public required string Method { get; init; }

    public required string ConfigHash { get; init; }

    /// <summary>The base model folder.</summary>
    public required string BaseModel { get; init; }

    public string BaseModelHash { get; init; } = "";

    /// <summary>The dataset spec as given (kind:folder).</summary>
    public required string Dataset { get; init; }

    public int TrainCount { get; init; }
    public int ValidCount { get; init; }
    public int TestCount { get; init; }
    public long Seed { get; init; }
    public long Steps { get; init; }
    public int Epochs { get; init; }
    public int BatchSize { get; init; }

    /// <summary>Training seconds over all sessions of the run (resumes included).</summary>
    public double WallSeconds { get; init; }

    public double ImagesPerSecond { get; init; }

    /// <summary>Validation loss of the base model with the adapters at their initial state (null: not measured).</summary>
    public double? ValidationLossBefore { get; init; }

    public double? ValidationLossBest { get; init; }
    public long? BestStep { get; init; }
    public double? ValidationLossFinal { get; init; }
    public long TrainableParametersStart { get; init; }
    public long TrainableParametersEnd { get; init; }
    public int TotalRankStart { get; init; }
    public int TotalRankEnd { get; init; }

    /// <summary>Every rank change (SeLoRA expansions, AdaLoRA masking), in step order.</summary>
    public IReadOnlyList<RankChange> Expansions { get; init; } = [];

    /// <summary>Final ranks per (component, kind, attention) group: <see cref="RankReport.Summary"/>.</summary>
    public IReadOnlyList<RankSummaryRow> RankGroups { get; init; } = [];

    /// <summary>Label to path relative to the run folder (images are embedded in summary.md, other files linked).</summary>
    public IReadOnlyDictionary<string, string> Artefacts { get; init; } = new Dictionary<string, string>();

    /// <summary>Steps at which the run was resumed from a checkpoint.</summary>
    public IReadOnlyList<long> Resumes { get; init; } = [];

    /// <summary>False when the run stopped before its last step (interrupted, or a failure).</summary>
    public bool Completed { get; init; }

    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The run folder; when set, <see cref="SummaryMarkdown.ConsoleLines"/> prints artefact paths under it rather than relative ones.</summary>
    public string? RunDirectory { get; init; }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Writes summary.json (what `selora results` reads), atomically.</summary>
    public void WriteJson(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads a summary.json; errors name the file.</summary>
    public static RunSummary ReadJson(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path}: empty run summary");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a run summary ({e.Message})", e);
        }
    }
}
