using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Runs.Events;

namespace SeLoRA.Cluster.Tests.Runs;

public class RunStateTests
{
    static readonly DateTimeOffset Now = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    static (RunState State, List<IRunEvent> Events) Play(IEnumerable<IRunCommand> commands, string name = "r1")
    {
        var state = RunState.Initial(name);
        var events = new List<IRunEvent>();
        foreach (var command in commands)
        {
            state = RunScript.Decide(state, command, out var e);
            events.Add(e);
        }
        return (state, events);
    }

    [Fact]
    public void The_config_hash_survives_the_json_round_trip_the_entity_checks()
    {
        Assert.Equal(RunScript.Config.Hash, SeLoRA.Training.Configuration.TrainingConfig.FromJson(RunScript.Config.ToJson()).Hash);
    }

    [Fact]
    public void A_full_run_folds_every_event_into_the_expected_state()
    {
        var (state, events) = Play(RunScript.Full());

        var kinds = events.Select(e => e.GetType()).ToHashSet();
        var all = typeof(IRunEvent).Assembly.GetTypes().Where(t => typeof(IRunEvent).IsAssignableFrom(t) && !t.IsInterface).ToHashSet();
        Assert.Equal(all.Except([typeof(RunStopped), typeof(RunFailed)]).OrderBy(t => t.Name), kinds.OrderBy(t => t.Name));

        Assert.Equal(RunPhase.Completed, state.Status);
        Assert.Equal("r1", state.Name);
        Assert.Equal(40, state.Step);
        Assert.Equal(40, state.TotalSteps);
        Assert.Equal(2, state.Workers);
        Assert.Equal(Now, state.StartedUtc);
        Assert.Equal(RunScript.Config.Hash, state.ConfigHash);
        Assert.Equal(new Dictionary<string, int> { ["text.layer.0.q_proj"] = 2, ["unet.down.0.to_k"] = 1, ["unet.down.0.to_q"] = 3 }, state.Ranks);
        Assert.Equal(3, state.ExpansionCount);
        Assert.Equal(6, state.TotalRank);
        Assert.Equal(0.29, state.BestValidationLoss);
        Assert.Equal(25, state.BestStep);
        Assert.Equal(["step-10", "step-20", "step-25"], state.Checkpoints.Select(c => c.CheckpointId));
        Assert.Equal([10L, 25L], state.Evaluations.Select(e => e.Step));
        Assert.Equal(123.5, state.Evaluations[0].Metrics["fid"]);
        Assert.Equal([10L], state.Resumes);
        Assert.Equal(0.3, state.FinalValidationLoss);
        Assert.Equal(12.5, state.WallSeconds);
        Assert.Equal(Now, state.CompletedUtc);
        Assert.Null(state.PauseReason);
        // Steps 11..20 were trained again after the resume: the losses kept are the second session's.
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), state.RecentLosses.Select(l => l.Step));
        Assert.Equal(0.4 - 0.011, state.RecentLosses[10].Loss, 12);
    }

    [Fact]
    public void Each_event_changes_what_it_says_and_nothing_else()
    {
        var (running, _) = Play([RunScript.Start()]);
        Assert.Equal(RunPhase.Running, running.Status);
        Assert.Equal(3, running.TotalRank);

        var stepped = running.Apply(new StepsCompleted(1, 3, [0.5, 0.4, 0.3], 2e-4, 4, 1.5));
        Assert.Equal((3L, 2e-4, 4, 1.5), (stepped.Step, stepped.LearningRate, stepped.TotalRank, stepped.WallSeconds));
        Assert.Equal([0.5, 0.4, 0.3], stepped.RecentLosses.Select(l => l.Loss));

        var expanded = stepped.Apply(new RanksExpanded(3, [new LayerRankChange("unet.down.0.to_k", 1, 4)]));
        Assert.Equal(4, expanded.Ranks["unet.down.0.to_k"]);
        Assert.Equal(7, expanded.TotalRank);

        var notBest = expanded.Apply(new CheckpointSaved(3, "c3", 0.2, false, Now));
        Assert.Null(notBest.BestValidationLoss);
        Assert.Single(notBest.Checkpoints);
        var best = notBest.Apply(new CheckpointSaved(3, "c3b", 0.25, true, Now));
        Assert.Equal((0.25, 3L), (best.BestValidationLoss!.Value, best.BestStep!.Value));

        var paused = best.Apply(new RunPaused(3, "operator"));
        Assert.Equal((RunPhase.Paused, "operator"), (paused.Status, paused.PauseReason));
        var resumed = paused.Apply(new RunResumed(2));
        Assert.Equal((RunPhase.Running, 2L, (string?)null), (resumed.Status, resumed.Step, resumed.PauseReason));
        Assert.Equal([1L, 2L], resumed.RecentLosses.Select(l => l.Step));

        var evaluated = resumed.Apply(new EvaluationCompleted(2, new Dictionary<string, double> { ["clip"] = 0.3 }));
        Assert.Equal(0.3, evaluated.Evaluations.Single().Metrics["clip"]);

        var stopped = evaluated.Apply(new RunStopped(2, "enough"));
        Assert.Equal((RunPhase.Stopped, "enough"), (stopped.Status, stopped.StopReason));
        var failed = evaluated.Apply(new RunFailed(2, "NaN loss"));
        Assert.Equal((RunPhase.Failed, "NaN loss"), (failed.Status, failed.FailureReason));
        var completed = evaluated.Apply(new RunCompleted(2, 0.2, 7, 9.0, Now));
        Assert.Equal((RunPhase.Completed, 0.2, 9.0), (completed.Status, completed.FinalValidationLoss!.Value, completed.WallSeconds));
    }

    [Fact]
    public void Apply_is_pure_same_input_same_output_and_the_input_untouched()
    {
        var (_, events) = Play(RunScript.Full());
        var state = RunState.Initial("r1");
        foreach (var e in events)
        {
            var before = RunScript.Json(state);
            var once = state.Apply(e);
            var twice = state.Apply(e);
            Assert.Equal(before, RunScript.Json(state));
            Assert.Equal(RunScript.Json(once), RunScript.Json(twice));
            state = once;
        }
        Assert.Equal(RunScript.Json(state), RunScript.Json(RunState.Replay("r1", events)));
    }

    [Fact]
    public void Only_the_latest_losses_are_kept()
    {
        var (state, _) = Play([RunScript.Start(1000), RunScript.Steps(1, 1000)]);
        Assert.Equal(RunState.RecentLossCapacity, state.RecentLosses.Count);
        Assert.Equal(1000, state.RecentLosses[^1].Step);
    }

    [Theory]
    [InlineData("pause-before-start", "NotStarted")]
    [InlineData("resume-while-running", "Running")]
    [InlineData("start-twice", "Running")]
    [InlineData("pause-when-completed", "Completed")]
    [InlineData("steps-after-stop", "Stopped")]
    public void Commands_in_the_wrong_state_are_rejected_naming_the_status(string scenario, string status)
    {
        var (state, command) = scenario switch
        {
            "pause-before-start" => (RunState.Initial("r1"), (IRunCommand)new PauseRun("x")),
            "resume-while-running" => (Play([RunScript.Start()]).State, new ResumeRun(0)),
            "start-twice" => (Play([RunScript.Start()]).State, RunScript.Start()),
            "pause-when-completed" => (Play(RunScript.Full()).State, new PauseRun("x")),
            _ => (Play([RunScript.Start(), new StopRun("enough")]).State, RunScript.Steps(1, 2)),
        };
        var (e, rejection) = state.Decide(command, Now);
        Assert.Null(e);
        Assert.Contains($"is {status}", rejection);
        Assert.Contains("'r1'", rejection);
    }

    [Fact]
    public void Inconsistent_commands_are_rejected_with_the_reason()
    {
        var (running, _) = Play([RunScript.Start(), RunScript.Steps(1, 5)]);
        string Rejects(RunState s, IRunCommand c) => s.Decide(c, Now).Rejection ?? throw new Xunit.Sdk.XunitException($"{c} was accepted");

        Assert.Contains("next batch starts at 6", Rejects(running, RunScript.Steps(7, 8)));
        Assert.Contains("next batch starts at 6", Rejects(running, RunScript.Steps(3, 8)));
        Assert.Contains("has 40 steps", Rejects(running, RunScript.Steps(6, 41)));
        Assert.Contains("2 losses for 3 steps", Rejects(running, new RecordSteps(6, 8, [0.1, 0.2], 1e-4, 3, 1)));
        Assert.Contains("at rank 1", Rejects(running, new RecordExpansion(5, [new LayerRankChange("unet.down.0.to_q", 2, 3)])));
        Assert.Contains("record every step first", Rejects(running, new CompleteRun(40, null, 3, 1)));
        Assert.Contains("does not match", Rejects(RunState.Initial("r1"), RunScript.Start() with { ConfigHash = "sha256:00" }));
        Assert.Contains("not a training config", Rejects(RunState.Initial("r1"), RunScript.Start() with { ConfigJson = "[1]" }));
        var paused = running.Apply(new RunPaused(5, "x"));
        Assert.Contains("resume from 0 to 5", Rejects(paused, new ResumeRun(6)));
        Assert.Contains("is Paused (x)", Rejects(paused, RunScript.Steps(6, 7)));
        Assert.Null(paused.Decide(new RecordCheckpoint(5, "c5", null, false), Now).Rejection);
    }

    [Fact]
    public void A_finished_run_still_accepts_evaluations_and_a_failure_needs_an_unfinished_run()
    {
        var (completed, _) = Play(RunScript.Full());
        Assert.Null(completed.Decide(new RecordEvaluation(40, new Dictionary<string, double> { ["fid"] = 1 }), Now).Rejection);
        Assert.Contains("is Completed", completed.Decide(new FailRun("late"), Now).Rejection);
        Assert.Null(RunState.Initial("r1").Decide(new FailRun("bad config"), Now).Rejection);
    }
}
