using Akka.Actor;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Persistence;
using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Tests.Persistence;
using SeLoRA.TestSupport;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Tests.Coordination;

/// <summary>Runs trained through the coordinator are recorded as event-sourced entities in a real database.</summary>
public sealed class RunRecordingTests
{
    static TrainingConfig Config(string root, string name) => new()
    {
        Name = name,
        Seed = 5,
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
        Optimization = new OptimizationSettings { BatchSize = 4, Epochs = 0, MaxSteps = 9, Adam = new() { LearningRate = 1e-3 } },
        SeLora = new SeLoraConfig { Lambda = 1.0, TestInterval = 3 },
        Validation = new ValidationSettings { EverySteps = 3, MaxSamples = 4 },
        Checkpoints = new CheckpointSettings { EverySteps = 3, Keep = 5 },
        Generation = new GenerationSettings { Count = 0 },
        Runtime = new RuntimeSettings { Device = "cpu", Workers = 2 },
    };

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_paused_run_resumed_by_a_new_actor_system_is_recorded_whole_in_the_database(string kind)
    {
        await using var db = await TestDatabase.CreateAsync(kind);
        var hocon = HoconLoader.Load(RepoPaths.Hocon);
        var name = "recorded-" + Guid.NewGuid().ToString("N")[..8];
        var config = Config(db.DataDirectory, name);
        var runs = Path.Combine(db.DataDirectory, "runs");
        var ct = TestContext.Current.CancellationToken;

        var first = LocalTraining.Run(hocon, config, new RunOptions { RunsRoot = runs, StopAfterStep = 4 }, cancellation: ct, settings: db.Settings);
        Assert.False(first.Completed);
        // A new actor system (as after a restart) on the same database continues the run.
        var second = LocalTraining.Run(hocon, config, new RunOptions { RunsRoot = runs, Resume = "latest" }, cancellation: ct, settings: db.Settings);
        Assert.True(second.Completed);

        using var system = ActorSystem.Create("reader", PersistenceHocon.For(db.Settings).WithFallback(hocon));
        var entity = system.ActorOf(RunEntity.Props(name));
        var status = await entity.Ask<RunStatus>(GetRunStatus.Instance, TimeSpan.FromSeconds(30), ct);
        var state = status.State;
        Assert.Equal(RunPhase.Completed, state.Status);
        Assert.Equal(9, state.Step);
        Assert.Equal([4L], state.Resumes);
        var final = CheckpointState.Read(Path.Combine(second.RunDirectory, "checkpoints", CheckpointStore.NameOf(9), CheckpointState.FileName));
        Assert.Equal(final.TotalRank, state.TotalRank);
        Assert.Equal(final.Ranks.ToDictionary(r => r.Key[(r.Key.IndexOf('.') + 1)..], r => r.Value).OrderBy(r => r.Key), state.Ranks.OrderBy(r => r.Key));
        Assert.Contains(state.Checkpoints, c => c.Step == 9);
        Assert.Contains(state.Checkpoints, c => c.Best);
        // Every 3 steps, the pause at 4, and the epoch end at 8 (32 training images, batch 4); recorded once each.
        var regular = state.Checkpoints.Where(c => !c.Best).Select(c => c.Step).ToList();
        Assert.Equal([3L, 4, 6, 8, 9], regular);
        Assert.NotNull(state.BestValidationLoss);
        Assert.Equal(state.Checkpoints.Where(c => c.Best).Select(c => c.ValidationLoss).Last(), state.BestValidationLoss);
        Assert.True(state.ExpansionCount > 0);
        await system.Terminate();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_run_whose_folder_is_gone_resumes_from_the_checkpoints_in_the_database_bit_for_bit(string kind)
    {
        await using var db = await TestDatabase.CreateAsync(kind);
        // Checkpoints mirrored into the journal's database (the default with PostgreSQL; asked for explicitly with SQLite).
        var hocon = Akka.Configuration.ConfigurationFactory.ParseString("selora.persistence.blob-store = database").WithFallback(HoconLoader.Load(RepoPaths.Hocon));
        var ct = TestContext.Current.CancellationToken;
        var runs = Path.Combine(db.DataDirectory, "runs");
        var straightConfig = Config(db.DataDirectory, "straight-" + Guid.NewGuid().ToString("N")[..8]) with { Runtime = new RuntimeSettings { Device = "cpu", Workers = 1 } };
        var straight = LocalTraining.Run(hocon, straightConfig, new RunOptions { RunsRoot = runs }, cancellation: ct, settings: db.Settings);

        var config = straightConfig with { Name = "moved-" + Guid.NewGuid().ToString("N")[..8] };
        var first = LocalTraining.Run(hocon, config, new RunOptions { RunsRoot = runs, StopAfterStep = 5 }, cancellation: ct, settings: db.Settings);
        Assert.False(first.Completed);
        Directory.Delete(first.RunDirectory, recursive: true); // as if the next session ran on another machine

        var resumed = LocalTraining.Run(hocon, config, new RunOptions { RunsRoot = runs, Resume = "latest", RunDirectory = first.RunDirectory },
            cancellation: ct, settings: db.Settings);
        Assert.True(resumed.Completed);
        Assert.Equal([5L], resumed.Summary.Resumes); // the pause checkpoint, from the database
        foreach (var file in new[] { CheckpointContents.AdaptersFile, CheckpointContents.OptimizerFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight.RunDirectory, "checkpoints", CheckpointStore.NameOf(9), file)),
                File.ReadAllBytes(Path.Combine(resumed.RunDirectory, "checkpoints", CheckpointStore.NameOf(9), file)));
    }
}
