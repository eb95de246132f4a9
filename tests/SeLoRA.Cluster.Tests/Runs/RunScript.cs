using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Runs.Events;
using SeLoRA.Training.Configuration;

namespace SeLoRA.Cluster.Tests.Runs;

/// <summary>Commands of a small run that produce every kind of event, and a canonical JSON of a state to compare states by.</summary>
public static class RunScript
{
    public static readonly TrainingConfig Config = new() { Name = "tiny", BaseModel = "/models/tiny", Seed = 3 };

    public static StartRun Start(long totalSteps = 40) => new(Config.ToJson(), Config.Hash, "sha256:base", totalSteps, 2,
        new Dictionary<string, int> { ["unet.down.0.to_q"] = 1, ["unet.down.0.to_k"] = 1, ["text.layer.0.q_proj"] = 1 });

    public static RecordSteps Steps(long first, long last, double start = 0.5) =>
        new(first, last, Enumerable.Range(0, (int)(last - first + 1)).Select(i => start - 0.001 * (first + i)).ToArray(), 1e-4, 3, 0.25 * (last - first + 1));

    /// <summary>Every command kind except StopRun and FailRun (which end a run), in an order the entity accepts.</summary>
    public static IReadOnlyList<IRunCommand> Full() =>
    [
        Start(),
        Steps(1, 10),
        new RecordExpansion(10, [new LayerRankChange("unet.down.0.to_q", 1, 2), new LayerRankChange("text.layer.0.q_proj", 1, 2)]),
        new RecordCheckpoint(10, "step-10", 0.31, true),
        new RecordEvaluation(10, new Dictionary<string, double> { ["validation_loss"] = 0.31, ["fid"] = 123.5 }),
        Steps(11, 20),
        new RecordCheckpoint(20, "step-20", 0.35, false),
        new PauseRun("node lost"),
        new ResumeRun(10),
        Steps(11, 25, 0.4),
        new RecordExpansion(25, [new LayerRankChange("unet.down.0.to_q", 2, 3)]),
        new RecordCheckpoint(25, "step-25", 0.29, true),
        Steps(26, 40),
        new CompleteRun(40, 0.3, 6, 12.5),
        new RecordEvaluation(25, new Dictionary<string, double> { ["fid"] = 99.0 }),
    ];

    public static string Json(RunState state) => System.Text.Json.JsonSerializer.Serialize(state, RunMessageSerializer.JsonOptions);

    public static RunState Decide(RunState state, IRunCommand command, out IRunEvent e)
    {
        var (decided, rejection) = state.Decide(command, new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        Assert.True(decided != null, rejection);
        e = decided;
        return state.Apply(decided);
    }
}
