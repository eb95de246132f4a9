using System.Text.Json;
using System.Text.Json.Serialization;
using SeLoRA.Data.Sampling;

namespace SeLoRA.Training.Checkpoints;

/// <summary>
/// state.json of a checkpoint: where the run is and what it was computed from. Every random draw of a run is keyed by
/// (seed, step, sample) or by (seed, layer, draw count), so the seed, the step and the adapters' draw counts (in the
/// adapter file) are the whole random state; the sampler position says which batch comes next.
/// </summary>
public sealed record CheckpointState
{
    public const int CurrentFormat = 1;
    public const string FileName = "state.json";

    public int Format { get; init; } = CurrentFormat;

    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; init; }

    /// <summary>The epoch the last completed step belonged to (0-based).</summary>
    public int Epoch { get; init; }

    /// <summary>The next global batch to train on.</summary>
    public int NextEpoch { get; init; }

    public int NextBatch { get; init; }

    /// <summary>The learning-rate schedule's step (the schedule is a function of it).</summary>
    public long LrStep { get; init; }

    public double LearningRate { get; init; }

    public long Seed { get; init; }

    public string Method { get; init; } = "";

    public string ConfigHash { get; init; } = "";

    public string BaseModelHash { get; init; } = "";

    public double? BestValidationLoss { get; init; }

    public long? BestStep { get; init; }

    /// <summary>Validation loss at this step, when one was measured.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Training wall time so far, over every resume.</summary>
    public double WallSeconds { get; init; }

    public int TotalRank { get; init; }

    /// <summary>Component-qualified layer name to rank.</summary>
    public IReadOnlyDictionary<string, int> Ranks { get; init; } = new Dictionary<string, int>();

    /// <summary>Steps at which earlier sessions of this run resumed.</summary>
    public IReadOnlyList<long> Resumes { get; init; } = [];

    public DateTimeOffset SavedUtc { get; init; }

    [JsonIgnore]
    public SamplerPosition NextPosition => new(NextEpoch, NextBatch);

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));

    public static CheckpointState Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no checkpoint state (not a checkpoint folder, or an incomplete one).", path);
        try
        {
            var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), JsonOptions)
                        ?? throw new InvalidDataException($"{path}: empty checkpoint state.");
            if (state.Format != CurrentFormat)
                throw new InvalidDataException($"{path}: checkpoint format {state.Format}; this version reads format {CurrentFormat}.");
            return state;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: unreadable checkpoint state ({e.Message}).", e);
        }
    }
}
