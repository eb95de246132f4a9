using Akka.Actor;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Evaluators;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Persistence;
using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Tests.Persistence;
using SeLoRA.Evaluation.Reports;
using SeLoRA.Adapters.SeLora;
using SeLoRA.TestSupport;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Tests.Evaluators;

/// <summary>Evaluator actors on real runs of the tiny base, recorded in a real database.</summary>
public sealed class EvaluatorTests
{
    static TrainingConfig Config(string root, string name) => new()
    {
        Name = name,
        Seed = 11,
        BaseModel = Path.Combine(RepoPaths.Root, "assets", "tiny-base"),
        Data = new DataSettings
        {
            Dataset = "folder:" + Path.Combine(root, "synthcxr"),
            SynthCxrCount = 40,
            SynthCxrSize = 64,
            SplitFractions = [0.8, 0.1, 0.1],
            Resolution = 64,
            LatentCache = Path.Combine(root, "latent-cache"),
        },
        Optimization = new OptimizationSettings { BatchSize = 4, Epochs = 0, MaxSteps = 6, Adam = new() { LearningRate = 1e-3 } },
        SeLora = new SeLoraConfig { Lambda = 1.0, TestInterval = 3 },
        Validation = new ValidationSettings { EverySteps = 3, MaxSamples = 4 },
        Checkpoints = new CheckpointSettings { EverySteps = 3, Keep = 5 },
        Generation = new GenerationSettings { Count = 0, Steps = 2 },
        Runtime = new RuntimeSettings { Device = "cpu", Workers = 1 },
    };

    // The validation loss and FD-ResNet18 on a few images: the plumbing, not the metrics, is under test.
    static readonly EvaluationSettings Cheap = new()
    {
        Metrics = [MetricNames.ValidationLoss, MetricNames.FdResNet18],
        ValidCount = 2,
        TestCount = 3,
        BatchSize = 2,
        SkipSuperseded = false,
        Device = "cpu",
    };

    static async Task<RunState> StateOf(TestDatabase db, Akka.Configuration.Config hocon, string name, CancellationToken ct)
    {
        using var system = ActorSystem.Create("reader", PersistenceHocon.For(db.Settings).WithFallback(hocon));
        try
        {
            var entity = system.ActorOf(RunEntity.Props(name));
            return (await entity.Ask<RunStatus>(GetRunStatus.Instance, TimeSpan.FromSeconds(30), ct)).State;
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// A coordinator on the database with one evaluator, as a restarted node has. The backlog reaches the evaluator
    /// asynchronously: with <paramref name="expectWork"/> this waits until something was done and the evaluator is idle,
    /// otherwise it gives the backlog a few seconds to arrive. Returns the evaluator's status.
    /// </summary>
    static async Task<(EvaluatorStatus Status, List<string> EvalLines)> RestartEvaluator(TestDatabase db, Akka.Configuration.Config hocon,
        EvaluationSettings settings, bool expectWork, string run, CancellationToken ct)
    {
        using var system = ActorSystem.Create("restarted", PersistenceHocon.For(db.Settings).WithFallback(hocon));
        try
        {
            var options = CoordinatorOptions.Default with { Persist = true, EntityOptions = RunEntityOptions.FromConfig(hocon), Evaluation = settings };
            var coordinator = system.ActorOf(TrainingCoordinator.Props(options), "coordinator");
            var evaluator = system.ActorOf(EvaluatorActor.Props(settings, "cpu"), "evaluator");
            await coordinator.Ask<EvaluatorRegistered>(new RegisterEvaluator(evaluator), TimeSpan.FromSeconds(30), ct);
            EvaluatorStatus status;
            var deadline = DateTime.UtcNow.AddSeconds(expectWork ? 180 : 4);
            do
            {
                await Task.Delay(250, ct);
                status = await evaluator.Ask<EvaluatorStatus>(WhenEvaluatorIdle.Instance, TimeSpan.FromSeconds(180), ct);
            } while ((!expectWork || status.Completed + status.Skipped + status.Failed == 0) && DateTime.UtcNow < deadline);
            // Results are recorded through the coordinator; answering a status request means it has passed them on.
            await coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), TimeSpan.FromSeconds(30), ct);
            await coordinator.Ask<RunsListed>(new ListRuns(), TimeSpan.FromSeconds(30), ct);
            // What an operator sees: `train evals <run>` through the palette, from the journal.
            var palette = new SeLoRA.Cluster.Palettes.TrainPalette(system, coordinator, db.Settings, RepoPaths.Hocon);
            var lines = new List<string>();
            await foreach (var line in palette.Execute(new SeLoRA.Cluster.Commands.CommandInvocation("train", "evals",
                               new Dictionary<string, IReadOnlyList<string>> { ["run"] = [run] }), ct))
                lines.Add(line);
            return (status, lines);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task Checkpoints_are_evaluated_as_they_are_saved_and_the_best_one_on_test_at_the_end()
    {
        await using var db = await TestDatabase.CreateAsync("sqlite");
        var hocon = HoconLoader.Load(RepoPaths.Hocon);
        var ct = TestContext.Current.CancellationToken;
        var name = "evaluated-" + Guid.NewGuid().ToString("N")[..8];
        var result = LocalTraining.Run(hocon, Config(db.DataDirectory, name), new RunOptions { RunsRoot = Path.Combine(db.DataDirectory, "runs") },
            cancellation: ct, settings: db.Settings, evaluation: Cheap);
        Assert.True(result.Completed);

        var state = await StateOf(db, hocon, name, ct);
        var valid = state.Evaluations.Where(e => e.Split == "valid").ToList();
        Assert.Equal([3L, 6L], valid.Select(e => e.Step).Order());
        foreach (var e in valid)
        {
            // The recorded value is the one training measured for that checkpoint.
            var checkpoint = state.Checkpoints.Single(c => !c.Best && c.Step == e.Step);
            Assert.Equal(checkpoint.ValidationLoss, e.Metrics[MetricNames.ValidationLoss]);
        }
        var final = Assert.Single(state.Evaluations, e => e.Final);
        Assert.Equal("test", final.Split);
        Assert.Equal(state.BestStep, final.Step);
        Assert.DoesNotContain(MetricNames.ValidationLoss, final.Metrics.Keys); // a validation loss is not a test metric
        Assert.True(final.Metrics[MetricNames.FdResNet18] > 0);

        var layout = new RunLayout(result.RunDirectory);
        var report = EvaluationReport.Read(Path.Combine(layout.Evaluations, EvaluationReport.FileName(CheckpointStore.NameOf(final.Step), "test")));
        Assert.True(report.Final);
        Assert.StartsWith("FD-ResNet18 ", report.Details[MetricNames.FdResNet18]);
        Assert.Contains("3 real vs 3 generated", report.Details[MetricNames.FdResNet18]);
        Assert.Equal("synthcxr", report.Dataset);
        Assert.Equal(3, report.GeneratedCount);
        Assert.Equal(report.TotalRank, CheckpointState.Read(Path.Combine(layout.Checkpoints, CheckpointStore.NameOf(final.Step), CheckpointState.FileName)).TotalRank);
        Assert.All(report.Samples, s => Assert.True(File.Exists(Path.Combine(layout.Directory, s.GeneratedImage)), s.GeneratedImage));
        Assert.All(report.Samples, s => Assert.True(File.Exists(s.RealImage), s.RealImage));
        Assert.False(Directory.Exists(Path.Combine(layout.Evaluations, CheckpointStore.NameOf(final.Step) + "-test.partial")));
    }

    [Fact]
    public async Task An_evaluator_that_joins_later_evaluates_what_the_journal_shows_undone_and_a_restart_repeats_nothing()
    {
        await using var db = await TestDatabase.CreateAsync("sqlite");
        var hocon = HoconLoader.Load(RepoPaths.Hocon);
        var ct = TestContext.Current.CancellationToken;
        var name = "late-" + Guid.NewGuid().ToString("N")[..8];
        // Trained with no evaluator at all.
        var result = LocalTraining.Run(hocon, Config(db.DataDirectory, name), new RunOptions { RunsRoot = Path.Combine(db.DataDirectory, "runs") },
            cancellation: ct, settings: db.Settings);
        Assert.Empty((await StateOf(db, hocon, name, ct)).Evaluations);

        var (first, lines) = await RestartEvaluator(db, hocon, Cheap, expectWork: true, name, ct);
        Assert.True(first.Completed == 3, $"evaluator: {first}"); // steps 3 and 6 on valid, then the final test evaluation
        Assert.Equal(0, first.Failed);
        var state = await StateOf(db, hocon, name, ct);
        Assert.Equal(3, state.Evaluations.Count);
        Assert.Single(state.Evaluations, e => e.Final);
        Assert.Equal("Count: 3 evaluations", lines[^1]);
        Assert.Matches(@"^step \d+ \| test \(final\) \| fd-resnet18 [0-9.]+", lines[^2]);
        var reports = Directory.GetFiles(new RunLayout(result.RunDirectory).Evaluations, "*.json").ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var (second, _) = await RestartEvaluator(db, hocon, Cheap, expectWork: false, name, ct);
        Assert.Equal(0, second.Completed + second.Skipped + second.Failed);
        Assert.Equal(3, (await StateOf(db, hocon, name, ct)).Evaluations.Count);
        Assert.Equal(reports, Directory.GetFiles(new RunLayout(result.RunDirectory).Evaluations, "*.json").ToDictionary(f => f, File.GetLastWriteTimeUtc));
    }

    [Fact]
    public async Task A_waiting_checkpoint_is_dropped_for_a_newer_one_and_max_concurrent_bounds_the_running_evaluations()
    {
        await using var db = await TestDatabase.CreateAsync("sqlite");
        var hocon = HoconLoader.Load(RepoPaths.Hocon);
        var ct = TestContext.Current.CancellationToken;
        var config = Config(db.DataDirectory, "queue-" + Guid.NewGuid().ToString("N")[..8]) with
        {
            Optimization = new OptimizationSettings { BatchSize = 4, Epochs = 0, MaxSteps = 9, Adam = new() { LearningRate = 1e-3 } },
        };
        var result = LocalTraining.Run(hocon, config, new RunOptions { RunsRoot = Path.Combine(db.DataDirectory, "runs") }, cancellation: ct);
        var work = new[] { 3L, 6L, 9L }.Select(s => new EvaluateCheckpoint(config.Name, result.RunDirectory, s, CheckpointStore.NameOf(s))).ToList();

        using var system = ActorSystem.Create("queue", hocon);
        try
        {
            // One at a time: step 3 starts at once, 6 waits, 9 arrives and replaces it.
            var single = system.ActorOf(EvaluatorActor.Props(Cheap with { SkipSuperseded = true }, "cpu"));
            foreach (var w in work) single.Tell(w);
            var status = await single.Ask<EvaluatorStatus>(GetEvaluatorStatus.Instance, TimeSpan.FromSeconds(30), ct);
            Assert.Equal([$"{config.Name}@3/valid"], status.Running);
            Assert.Equal([$"{config.Name}@9/valid"], status.Queued);
            status = await single.Ask<EvaluatorStatus>(WhenEvaluatorIdle.Instance, TimeSpan.FromSeconds(180), ct);
            Assert.Equal((2, 1, 0), (status.Completed, status.Skipped, status.Failed));
            var evaluations = new RunLayout(result.RunDirectory).Evaluations;
            Assert.False(File.Exists(Path.Combine(evaluations, "step-00000006-valid.json")));
            Assert.True(File.Exists(Path.Combine(evaluations, "step-00000009-valid.json")));

            // Two at a time, nothing skipped: 3 and 6 run together, 9 waits for a free slot.
            var pair = system.ActorOf(EvaluatorActor.Props(Cheap with { SkipSuperseded = false, MaxConcurrent = 2 }, "cpu"));
            foreach (var w in work) pair.Tell(w);
            status = await pair.Ask<EvaluatorStatus>(GetEvaluatorStatus.Instance, TimeSpan.FromSeconds(30), ct);
            Assert.Equal(2, status.Running.Count);
            Assert.Equal([$"{config.Name}@9/valid"], status.Queued);
            status = await pair.Ask<EvaluatorStatus>(WhenEvaluatorIdle.Instance, TimeSpan.FromSeconds(180), ct);
            Assert.Equal((3, 0, 0), (status.Completed, status.Skipped, status.Failed));
        }
        finally
        {
            await system.Terminate();
        }
    }
}
