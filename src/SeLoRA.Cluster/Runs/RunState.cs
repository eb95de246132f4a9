using System.Collections.Immutable;
using System.Globalization;
using SeLoRA.Cluster.Runs.Events;
using SeLoRA.Training.Configuration;

namespace SeLoRA.Cluster.Runs;

/// <summary>
/// A run as its journal tells it. <see cref="Apply"/> folds one event into a new state and <see cref="Decide"/> turns a
/// command into the event it would persist, or a rejection; both are pure, so recovery (snapshot plus later events, or
/// events alone) always gives the same state.
/// </summary>
public sealed record RunState
{
    /// <summary>How many of the latest step losses the state keeps (the journal keeps them all).</summary>
    public const int RecentLossCapacity = 256;

    public string Name { get; init; } = "";
    public RunPhase Status { get; init; } = RunPhase.NotStarted;
    public string ConfigJson { get; init; } = "";
    public string ConfigHash { get; init; } = "";
    public string BaseModelHash { get; init; } = "";
    public long TotalSteps { get; init; }
    public int Workers { get; init; }
    public DateTimeOffset? StartedUtc { get; init; }

    /// <summary>The last optimizer step recorded (rewound by a resume to the checkpoint's step).</summary>
    public long Step { get; init; }

    public double LearningRate { get; init; }
    public int TotalRank { get; init; }

    /// <summary>Training seconds over every recorded batch (steps trained again after a resume count twice).</summary>
    public double WallSeconds { get; init; }

    public ImmutableList<StepLoss> RecentLosses { get; init; } = [];

    /// <summary>Layer to rank: the initial ranks given at start, updated by every expansion.</summary>
    public ImmutableSortedDictionary<string, int> Ranks { get; init; } = ImmutableSortedDictionary.Create<string, int>(StringComparer.Ordinal);

    /// <summary>Rank changes recorded, over all layers.</summary>
    public int ExpansionCount { get; init; }

    public double? BestValidationLoss { get; init; }
    public long? BestStep { get; init; }
    public ImmutableList<CheckpointRecord> Checkpoints { get; init; } = [];
    public ImmutableList<EvaluationRecord> Evaluations { get; init; } = [];

    /// <summary>Steps the run resumed from.</summary>
    public ImmutableList<long> Resumes { get; init; } = [];

    public string? PauseReason { get; init; }
    public string? StopReason { get; init; }
    public string? FailureReason { get; init; }
    public double? FinalValidationLoss { get; init; }
    public DateTimeOffset? CompletedUtc { get; init; }

    public bool IsFinal => Status is RunPhase.Completed or RunPhase.Failed or RunPhase.Stopped;

    public static RunState Initial(string name) => new() { Name = name };

    /// <summary>The state after <paramref name="e"/>. Pure: the same state and event always give the same result.</summary>
    public RunState Apply(IRunEvent e) => e switch
    {
        RunStarted s => this with
        {
            Name = s.Name,
            Status = RunPhase.Running,
            ConfigJson = s.ConfigJson,
            ConfigHash = s.ConfigHash,
            BaseModelHash = s.BaseModelHash,
            TotalSteps = s.TotalSteps,
            Workers = s.Workers,
            StartedUtc = s.StartedUtc,
            Step = 0,
            Ranks = s.InitialRanks is { Count: > 0 } initial
                ? initial.ToImmutableSortedDictionary(StringComparer.Ordinal)
                : Ranks,
            TotalRank = s.InitialRanks is { Count: > 0 } ranks ? ranks.Values.Sum() : TotalRank,
        },
        StepsCompleted c => this with
        {
            Step = c.LastStep,
            LearningRate = c.LearningRate,
            TotalRank = c.TotalRank,
            WallSeconds = WallSeconds + c.WallSeconds,
            RecentLosses = Trim(RecentLosses.AddRange(c.Losses.Select((loss, i) => new StepLoss(c.FirstStep + i, loss)))),
        },
        RanksExpanded x => this with
        {
            Ranks = Ranks.SetItems(x.Changes.Select(c => KeyValuePair.Create(c.Layer, c.NewRank))),
            TotalRank = TotalRank + x.Changes.Sum(c => c.NewRank - c.OldRank),
            ExpansionCount = ExpansionCount + x.Changes.Count,
        },
        CheckpointSaved k => this with
        {
            Checkpoints = Checkpoints.Add(new CheckpointRecord(k.Step, k.CheckpointId, k.ValidationLoss, k.Best, k.SavedUtc, k.RunDirectory)),
            BestValidationLoss = k.Best ? k.ValidationLoss : BestValidationLoss,
            BestStep = k.Best ? k.Step : BestStep,
        },
        RunPaused p => this with { Status = RunPhase.Paused, PauseReason = p.Reason },
        RunResumed r => this with
        {
            Status = RunPhase.Running,
            PauseReason = null,
            Step = r.Step,
            RecentLosses = RecentLosses.RemoveAll(l => l.Step > r.Step),
            Resumes = Resumes.Add(r.Step),
        },
        EvaluationCompleted v => this with
        {
            Evaluations = Evaluations.Add(new EvaluationRecord(v.Step,
                v.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).ToImmutableSortedDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal),
                v.Split, v.CheckpointId, v.Final)),
        },
        RunCompleted d => this with
        {
            Status = RunPhase.Completed,
            Step = d.Step,
            FinalValidationLoss = d.FinalValidationLoss,
            TotalRank = d.TotalRank,
            WallSeconds = d.WallSeconds,
            CompletedUtc = d.CompletedUtc,
            PauseReason = null,
        },
        RunStopped s => this with { Status = RunPhase.Stopped, StopReason = s.Reason, PauseReason = null },
        RunFailed f => this with { Status = RunPhase.Failed, FailureReason = f.Reason, PauseReason = null },
        _ => throw new ArgumentException($"run {Name}: unknown event {e.GetType().Name}.", nameof(e)),
    };

    /// <summary>True when an evaluation of <paramref name="step"/> on <paramref name="split"/> is recorded (the final one, when asked).</summary>
    public bool HasEvaluation(long step, string split, bool final = false) =>
        Evaluations.Any(e => e.Step == step && e.Split == split && (!final || e.Final));

    /// <summary>True when the run's final test evaluation is recorded.</summary>
    public bool HasFinalEvaluation => Evaluations.Any(e => e.Final);

    /// <summary>Folds events into a state, as recovery does.</summary>
    public static RunState Replay(string name, IEnumerable<IRunEvent> events) => events.Aggregate(Initial(name), (s, e) => s.Apply(e));

    /// <summary>
    /// The event <paramref name="command"/> persists in this state, stamped with <paramref name="now"/> where it carries a
    /// time; or why it is rejected. Exactly one of the two is non-null.
    /// </summary>
    public (IRunEvent? Event, string? Rejection) Decide(IRunCommand command, DateTimeOffset now)
    {
        var rejection = Check(command);
        if (rejection != null) return (null, rejection);
        IRunEvent e = command switch
        {
            StartRun s => new RunStarted(Name, s.ConfigJson, s.ConfigHash, s.BaseModelHash, s.TotalSteps, s.Workers, now,
                s.InitialRanks is { Count: > 0 } r ? new SortedDictionary<string, int>(r.ToDictionary(), StringComparer.Ordinal) : null),
            RecordSteps r => new StepsCompleted(r.FirstStep, r.LastStep, r.Losses.ToArray(), r.LearningRate, r.TotalRank, r.WallSeconds),
            RecordExpansion x => new RanksExpanded(x.Step, x.Changes.ToList()),
            RecordCheckpoint k => new CheckpointSaved(k.Step, k.CheckpointId, k.ValidationLoss, k.Best, now, k.RunDirectory),
            PauseRun p => new RunPaused(Step, p.Reason),
            ResumeRun r => new RunResumed(r.Step),
            StopRun s => new RunStopped(Step, s.Reason),
            CompleteRun c => new RunCompleted(c.Step, c.FinalValidationLoss, c.TotalRank, c.WallSeconds, now),
            FailRun f => new RunFailed(Step, f.Reason),
            RecordEvaluation v => new EvaluationCompleted(v.Step, new SortedDictionary<string, double>(v.Metrics.ToDictionary(), StringComparer.Ordinal), v.Split, v.CheckpointId, v.Final),
            _ => throw new ArgumentException($"run {Name}: unknown command {command.GetType().Name}.", nameof(command)),
        };
        return (e, null);
    }

    /// <summary>Why <paramref name="command"/> is not valid now, or null when it is.</summary>
    public string? Check(IRunCommand command)
    {
        var name = command.GetType().Name;
        string? Needs(params RunPhase[] phases) =>
            phases.Contains(Status) ? null : $"{name} needs a run that is {string.Join(" or ", phases)}; run '{Name}' is {Status}{Detail()}.";

        switch (command)
        {
            case StartRun s:
                return Needs(RunPhase.NotStarted) ?? CheckStart(s);
            case RecordSteps r:
                return Needs(RunPhase.Running) ?? CheckSteps(r);
            case RecordExpansion x:
                return Needs(RunPhase.Running) ?? CheckExpansion(x);
            case RecordCheckpoint k:
                return Needs(RunPhase.Running, RunPhase.Paused)
                       ?? (string.IsNullOrWhiteSpace(k.CheckpointId) ? "RecordCheckpoint needs a checkpoint id." : null)
                       ?? CheckStepInRange(name, k.Step);
            case PauseRun:
                return Needs(RunPhase.Running);
            case ResumeRun r:
                return Needs(RunPhase.Paused)
                       ?? (r.Step < 0 || r.Step > Step
                           ? $"ResumeRun from step {r.Step}: run '{Name}' has recorded steps up to {Step}, so it can resume from 0 to {Step}."
                           : null);
            case StopRun:
                return Needs(RunPhase.Running, RunPhase.Paused);
            case CompleteRun c:
                return Needs(RunPhase.Running)
                       ?? (c.Step != Step ? $"CompleteRun at step {c.Step}: run '{Name}' has recorded steps up to {Step}; record every step first." : null);
            case FailRun:
                return Needs(RunPhase.NotStarted, RunPhase.Running, RunPhase.Paused);
            case RecordEvaluation v:
                return (Status == RunPhase.NotStarted ? $"RecordEvaluation needs a started run; run '{Name}' is {Status}." : null)
                       ?? (v.Metrics.Count == 0 ? "RecordEvaluation needs at least one metric." : null)
                       ?? CheckStepInRange(name, v.Step)
                       ?? (HasEvaluation(v.Step, v.Split, v.Final)
                           ? $"RecordEvaluation: run '{Name}' already has {(v.Final ? "the final" : "an")} evaluation of step {v.Step} on {v.Split}."
                           : null);
            default:
                return $"unknown command {name}.";
        }
    }

    string Detail() => Status switch
    {
        RunPhase.Paused when PauseReason != null => $" ({PauseReason})",
        RunPhase.Failed when FailureReason != null => $" ({FailureReason})",
        RunPhase.Stopped when StopReason != null => $" ({StopReason})",
        _ => "",
    };

    string? CheckStart(StartRun s)
    {
        if (s.TotalSteps < 1) return $"StartRun: total steps {s.TotalSteps}; expected at least 1.";
        if (s.Workers < 1) return $"StartRun: {s.Workers} workers; expected at least 1.";
        if (s.InitialRanks?.FirstOrDefault(r => r.Value < 0 || string.IsNullOrWhiteSpace(r.Key)) is { Key: not null } bad)
            return $"StartRun: initial rank {bad.Value} of layer '{bad.Key}'; expected a named layer and a rank of 0 or more.";
        string actual;
        try
        {
            actual = TrainingConfig.FromJson(s.ConfigJson, $"run {Name} config").Hash;
        }
        catch (InvalidDataException e)
        {
            return $"StartRun: {e.Message}";
        }
        return actual == s.ConfigHash ? null : $"StartRun: config hash {s.ConfigHash} does not match the config's own hash {actual}.";
    }

    string? CheckSteps(RecordSteps r)
    {
        if (r.FirstStep != Step + 1)
            return $"RecordSteps {r.FirstStep}..{r.LastStep}: run '{Name}' has recorded steps up to {Step}, so the next batch starts at {Step + 1}.";
        if (r.LastStep < r.FirstStep) return $"RecordSteps {r.FirstStep}..{r.LastStep}: the last step is before the first.";
        if (r.LastStep > TotalSteps) return $"RecordSteps {r.FirstStep}..{r.LastStep}: run '{Name}' has {TotalSteps} steps.";
        var count = r.LastStep - r.FirstStep + 1;
        if (r.Losses is null || r.Losses.Length != count)
            return $"RecordSteps {r.FirstStep}..{r.LastStep}: {r.Losses?.Length ?? 0} losses for {count} steps.";
        if (r.WallSeconds < 0 || double.IsNaN(r.WallSeconds)) return $"RecordSteps: wall seconds {r.WallSeconds.ToString(CultureInfo.InvariantCulture)}; expected 0 or more.";
        return r.TotalRank < 0 ? $"RecordSteps: total rank {r.TotalRank}; expected 0 or more." : null;
    }

    string? CheckExpansion(RecordExpansion x)
    {
        if (x.Changes is null || x.Changes.Count == 0) return "RecordExpansion needs at least one layer.";
        foreach (var c in x.Changes)
        {
            if (string.IsNullOrWhiteSpace(c.Layer)) return "RecordExpansion: a change without a layer name.";
            if (c.NewRank < 0 || c.OldRank < 0) return $"RecordExpansion: layer '{c.Layer}' rank {c.OldRank} -> {c.NewRank}; ranks are 0 or more.";
            if (Ranks.TryGetValue(c.Layer, out var known) && known != c.OldRank)
                return $"RecordExpansion: layer '{c.Layer}' is at rank {known} in run '{Name}', not {c.OldRank}.";
        }
        if (x.Changes.Select(c => c.Layer).Distinct(StringComparer.Ordinal).Count() != x.Changes.Count)
            return "RecordExpansion: a layer is listed twice.";
        return CheckStepInRange("RecordExpansion", x.Step);
    }

    string? CheckStepInRange(string command, long step) =>
        step < 0 || step > TotalSteps ? $"{command} at step {step}: run '{Name}' has steps 0 to {TotalSteps}." : null;

    static ImmutableList<StepLoss> Trim(ImmutableList<StepLoss> losses) =>
        losses.Count <= RecentLossCapacity ? losses : losses.RemoveRange(0, losses.Count - RecentLossCapacity);
}
