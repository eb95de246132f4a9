using SeLoRA.Cluster.Evaluators;
using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Runs.Events;

namespace SeLoRA.Cluster.Tests.Evaluators;

public sealed class EvaluationBacklogTests
{
    static readonly DateTimeOffset T = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);

    static RunState Run(string name, bool completed, params IRunEvent[] more)
    {
        var events = new List<IRunEvent> { new RunStarted(name, "{}", "h", "b", 30, 1, T, null), new StepsCompleted(1, 30, Enumerable.Repeat(0.1, 30).ToArray(), 1e-4, 4, 1) };
        events.AddRange(more);
        if (completed) events.Add(new RunCompleted(30, 0.1, 4, 1, T));
        return RunState.Replay(name, events);
    }

    static CheckpointSaved Saved(long step, bool best = false) => new(step, best ? "best" : $"step-{step:D8}", 0.2, best, T, "/runs/x");

    [Fact]
    public void Unevaluated_checkpoints_and_a_missing_final_evaluation_are_owed_and_recorded_ones_are_not()
    {
        var run = Run("a", completed: true, Saved(10), Saved(10, best: true), Saved(20), Saved(30),
            new EvaluationCompleted(10, new Dictionary<string, double> { ["fid"] = 1 }));
        var work = EvaluationBacklog.Of([run], EvaluationSettings.Default);
        Assert.Equal([20L, 30L], work.OfType<EvaluateCheckpoint>().Select(w => w.Step));
        Assert.Equal("/runs/x", Assert.Single(work.OfType<EvaluateFinal>()).RunDirectory);

        var done = Run("b", completed: true, Saved(10), new EvaluationCompleted(10, new Dictionary<string, double> { ["fid"] = 1 }),
            new EvaluationCompleted(10, new Dictionary<string, double> { ["fid"] = 2 }, "test", "step-00000010", Final: true));
        Assert.Empty(EvaluationBacklog.Of([done], EvaluationSettings.Default));
    }

    [Fact]
    public void A_running_run_owes_only_its_newest_checkpoint_when_superseded_ones_are_skipped_and_settings_turn_parts_off()
    {
        var running = Run("a", completed: false, Saved(10), Saved(20), Saved(30));
        Assert.Equal([30L], EvaluationBacklog.Of([running], EvaluationSettings.Default).OfType<EvaluateCheckpoint>().Select(w => w.Step));
        Assert.Equal([10L, 20L, 30L], EvaluationBacklog.Of([running], EvaluationSettings.Default with { SkipSuperseded = false }).OfType<EvaluateCheckpoint>().Select(w => w.Step));
        var completed = Run("c", completed: true, Saved(10));
        Assert.Empty(EvaluationBacklog.Of([completed], EvaluationSettings.Default with { DuringTraining = false, FinalTest = false }));
        Assert.Single(EvaluationBacklog.Of([completed], EvaluationSettings.Default with { DuringTraining = false }).OfType<EvaluateFinal>());
    }
}
