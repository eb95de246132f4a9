using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Workers;
using SeLoRA.TestSupport;
using SeLoRA.Torch.Safetensors;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Cluster.Tests.Coordination;

/// <summary>Training through the actors: device workers and the coordinator in one actor system.</summary>
public sealed class ClusterTrainingTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("selora-cluster-train-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    string RunsRoot => Path.Combine(root, "runs");

    static Config Hocon => HoconLoader.Load(RepoPaths.Hocon);

    TrainingConfig Config(string name, long steps = 9, int workers = 1) => new()
    {
        Name = name,
        Seed = 7,
        BaseModel = Path.Combine(RepoPaths.Root, "assets", "tiny-base"),
        Data = new DataSettings
        {
            Dataset = "folder:" + Path.Combine(root, "synthcxr"),
            SynthCxrCount = 48,
            SynthCxrSize = 64,
            SplitFractions = [0.75, 0.125, 0.125],
            Resolution = 64,
            LatentCache = Path.Combine(root, "latent-cache"),
        },
        Optimization = new OptimizationSettings { BatchSize = 5, Epochs = 0, MaxSteps = steps, Adam = new() { LearningRate = 1e-4 } },
        SeLora = new SeLoraConfig { Lambda = 1.3, TestInterval = 3 },
        Validation = new ValidationSettings { EverySteps = 3, MaxSamples = 4 },
        Checkpoints = new CheckpointSettings { EverySteps = 3, Keep = 5 },
        Generation = new GenerationSettings { Count = 0 },
        Runtime = new RuntimeSettings { Device = "cpu", Workers = workers },
    };

    RunResult Local(TrainingConfig config, RunOptions? options = null) =>
        LocalTraining.Run(Hocon, config, (options ?? new RunOptions()) with { RunsRoot = RunsRoot }, cancellation: TestContext.Current.CancellationToken);

    static void AssertClose(string expectedCheckpoint, string actualCheckpoint, double tolerance)
    {
        var a = SafetensorsFile.Load(Path.Combine(expectedCheckpoint, CheckpointContents.AdaptersFile));
        var b = SafetensorsFile.Load(Path.Combine(actualCheckpoint, CheckpointContents.AdaptersFile));
        try
        {
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            var worst = a.Max(kv => (kv.Value - b[kv.Key]).abs().max().item<float>());
            Assert.True(worst <= tolerance, $"adapter weights differ by up to {worst} (tolerance {tolerance})");
        }
        finally
        {
            foreach (var t in a.Values.Concat(b.Values)) t.Dispose();
        }
    }

    static IReadOnlyList<(long, int)> RanksPerStep(RunResult run) =>
        JsonLinesLog<StepMetric>.Read(Path.Combine(run.RunDirectory, "metrics.jsonl")).Select(m => (m.Step, m.TotalRank)).ToList();

    static string Checkpoint(RunResult run, long step) => Path.Combine(run.RunDirectory, "checkpoints", CheckpointStore.NameOf(step));

    [Fact]
    public void Two_device_workers_through_the_actors_equal_one_and_one_equals_the_plain_engine()
    {
        var engine = TrainingRun.Execute(Config("engine"), new RunOptions { RunsRoot = RunsRoot }, cancellation: TestContext.Current.CancellationToken);
        var one = Local(Config("one"));
        var two = Local(Config("two", workers: 2));
        Assert.True(one.Completed && two.Completed);

        // One worker through the actors is the plain engine, bit for bit.
        foreach (var file in new[] { CheckpointContents.AdaptersFile, CheckpointContents.OptimizerFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Checkpoint(engine, 9), file)), File.ReadAllBytes(Path.Combine(Checkpoint(one, 9), file)));
        // Two workers: the same ranks at every step, weights within 1e-5.
        Assert.Equal(RanksPerStep(one), RanksPerStep(two));
        var changes = JsonLinesLog<RankChange>.Read(Path.Combine(one.RunDirectory, "ranks.jsonl"));
        Assert.True(changes.Select(c => c.Step).Distinct().Count() >= 2, "expansions at two tests at least");
        Assert.Equal(changes, JsonLinesLog<RankChange>.Read(Path.Combine(two.RunDirectory, "ranks.jsonl")));
        AssertClose(Checkpoint(one, 9), Checkpoint(two, 9), 1e-5);
    }

    [Fact]
    public async Task Pause_then_resume_by_message_equals_an_uninterrupted_run()
    {
        var straight = Local(Config("straight", workers: 2));
        using var system = ActorSystem.Create("pause-test", Hocon);
        var coordinator = system.ActorOf(TrainingCoordinator.Props(CoordinatorOptions.Default), "coordinator");
        for (var w = 0; w < 2; w++)
            await coordinator.Ask<WorkerRegistered>(new RegisterWorker(system.ActorOf(DeviceWorker.Props("cpu"), $"worker-{w}"), "cpu"),
                TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var steps = new System.Collections.Concurrent.BlockingCollection<long>();
        var finished = new TaskCompletionSource<TrainingFinished>();
        var observer = system.ActorOf(TrainingObserver.Props(e => { if (e is StepCompleted s) steps.Add(s.Metric.Step); }, finished));
        coordinator.Tell(new SubscribeTraining(observer));
        var started = await coordinator.Ask(new StartTraining(Config("paused", workers: 2).ToJson(), RunsRoot), TimeSpan.FromSeconds(10),
            TestContext.Current.CancellationToken);
        Assert.IsType<TrainingStarted>(started);
        while (steps.Take(TestContext.Current.CancellationToken) < 4) { }
        var paused = await coordinator.Ask<TrainingStatus>(new PauseTraining(), TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        Assert.Equal("paused", paused.State);
        Assert.InRange(paused.Step, 4, 8);
        Assert.False((await finished.Task).Result!.Completed);

        var resumedDone = new TaskCompletionSource<TrainingFinished>();
        var observer2 = system.ActorOf(TrainingObserver.Props(_ => { }, resumedDone));
        coordinator.Tell(new SubscribeTraining(observer2));
        var resumed = await coordinator.Ask(new ResumeTraining(), TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.IsType<TrainingStarted>(resumed);
        var done = await resumedDone.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        Assert.Null(done.Error);
        Assert.True(done.Result!.Completed);
        foreach (var file in new[] { CheckpointContents.AdaptersFile, CheckpointContents.OptimizerFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Checkpoint(straight, 9), file)), File.ReadAllBytes(Path.Combine(done.Result.RunDirectory, "checkpoints", CheckpointStore.NameOf(9), file)));
        var status = await coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal("completed", status.State);
        await system.Terminate();
    }

    [Fact]
    public async Task A_worker_lost_mid_run_leaves_the_run_to_finish_on_the_others_with_the_same_ranks()
    {
        var reference = Local(Config("reference"));
        using var system = ActorSystem.Create("loss-test", Hocon);
        var coordinator = system.ActorOf(TrainingCoordinator.Props(CoordinatorOptions.Default with { StepTimeout = TimeSpan.FromSeconds(20) }), "coordinator");
        var workers = Enumerable.Range(0, 3).Select(w => system.ActorOf(DeviceWorker.Props("cpu"), $"worker-{w}")).ToList();
        foreach (var w in workers)
            await coordinator.Ask<WorkerRegistered>(new RegisterWorker(w, "cpu"), TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var finished = new TaskCompletionSource<TrainingFinished>();
        var killed = false;
        var observer = system.ActorOf(TrainingObserver.Props(e =>
        {
            if (e is StepCompleted { Metric.Step: 4 } && !killed)
            {
                killed = true;
                workers[1].Tell(PoisonPill.Instance); // gone between steps 4 and 5, or during 5
            }
        }, finished));
        coordinator.Tell(new SubscribeTraining(observer));
        await coordinator.Ask(new StartTraining(Config("lost", workers: 3).ToJson(), RunsRoot), TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var done = await finished.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        Assert.Null(done.Error);
        Assert.True(done.Result!.Completed);
        Assert.Equal(RanksPerStep(reference), RanksPerStep(done.Result));
        AssertClose(Checkpoint(reference, 9), Path.Combine(done.Result.RunDirectory, "checkpoints", CheckpointStore.NameOf(9)), 1e-5);
        Assert.True(killed);
        var status = await coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal(2, status.Workers);
        await system.Terminate();
    }

    [Fact]
    public async Task A_worker_that_joins_mid_run_gets_the_current_state_and_trains_with_the_others()
    {
        var ct = TestContext.Current.CancellationToken;
        var reference = Local(Config("join-reference"));
        using var system = ActorSystem.Create("join-test", Hocon);
        var coordinator = system.ActorOf(TrainingCoordinator.Props(CoordinatorOptions.Default), "coordinator");
        await coordinator.Ask<WorkerRegistered>(new RegisterWorker(system.ActorOf(DeviceWorker.Props("cpu"), "worker-0"), "cpu"), TimeSpan.FromSeconds(10), ct);
        var finished = new TaskCompletionSource<TrainingFinished>();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var late = system.ActorOf(DeviceWorker.Props("cpu"), "worker-late");
        var joined = false;
        coordinator.Tell(new SubscribeTraining(system.ActorOf(TrainingObserver.Props(e =>
        {
            if (e is RunProgressed p) lines.Enqueue(p.Message);
            if (e is StepCompleted { Metric.Step: 3 } && !joined)
            {
                joined = true;
                coordinator.Tell(new RegisterWorker(late, "cpu"));
            }
        }, finished))));
        await coordinator.Ask(new StartTraining(Config("joined").ToJson(), RunsRoot), TimeSpan.FromSeconds(10), ct);
        var done = await finished.Task.WaitAsync(TimeSpan.FromMinutes(3), ct);
        Assert.Null(done.Error);
        Assert.Contains(lines, l => l.Contains("joined after step", StringComparison.Ordinal) && l.Contains("training on 2 worker(s)", StringComparison.Ordinal));
        Assert.Equal(RanksPerStep(reference), RanksPerStep(done.Result!));
        AssertClose(Checkpoint(reference, 9), Path.Combine(done.Result!.RunDirectory, "checkpoints", CheckpointStore.NameOf(9)), 1e-5);
        await system.Terminate();
    }
}
