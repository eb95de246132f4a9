using Akka.Actor;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Nodes;
using SeLoRA.TestSupport;
using SeLoRA.Torch.Safetensors;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Cluster.Tests.Coordination;

/// <summary>Two actor systems joined as a cluster over loopback: gradients cross through the tensor data channel.</summary>
public sealed class TwoNodeTrainingTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("selora-two-nodes-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    TrainingConfig Config(string name, int workers = 1) => new()
    {
        Name = name,
        Seed = 9,
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
        Optimization = new OptimizationSettings { BatchSize = 6, Epochs = 0, MaxSteps = 9, Adam = new() { LearningRate = 1e-4 } },
        SeLora = new SeLoraConfig { Lambda = 1.3, TestInterval = 3 },
        Validation = new ValidationSettings { EverySteps = 3, MaxSamples = 4 },
        Checkpoints = new CheckpointSettings { EverySteps = 9, Keep = 2 },
        Generation = new GenerationSettings { Count = 0 },
        Runtime = new RuntimeSettings { Device = "cpu", Workers = workers },
    };

    [Fact]
    public async Task Two_workers_on_two_nodes_equal_one_worker_on_the_same_global_batch()
    {
        var ct = TestContext.Current.CancellationToken;
        var hocon = Akka.Configuration.ConfigurationFactory.ParseString("selora.command-host.port = 0").WithFallback(HoconLoader.Load(RepoPaths.Hocon));
        var settings = SeloraSettings.From(hocon);
        var runs = Path.Combine(root, "runs");
        var reference = LocalTraining.Run(hocon, Config("reference"), new RunOptions { RunsRoot = runs }, cancellation: ct);

        var options = new NodeOptions { Workers = 1, Device = "cpu", Persist = false, StepTimeout = TimeSpan.FromSeconds(60) };
        using var seed = SeloraNode.Start(hocon, settings, options with { Roles = [NodeRoles.Coordinator, NodeRoles.Worker] });
        using var other = SeloraNode.Start(hocon, settings, options with { Roles = [NodeRoles.Worker], SeedNodes = [seed.Address.ToString()] });
        seed.WaitForMembers(2, TimeSpan.FromSeconds(30));
        var coordinator = seed.Coordinator!;
        for (var i = 0; i < 100 && (await coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), TimeSpan.FromSeconds(5), ct)).Workers < 2; i++)
            await Task.Delay(100, ct);

        var finished = new TaskCompletionSource<TrainingFinished>();
        coordinator.Tell(new SubscribeTraining(seed.System.ActorOf(TrainingObserver.Props(_ => { }, finished))));
        var started = await coordinator.Ask(new StartTraining(Config("two-nodes").ToJson(), runs), TimeSpan.FromSeconds(10), ct);
        var s = Assert.IsType<TrainingStarted>(started);
        Assert.Equal(2, s.Workers);
        var done = await finished.Task.WaitAsync(TimeSpan.FromMinutes(3), ct);
        Assert.Null(done.Error);
        Assert.True(done.Result!.Completed);

        var a = JsonLinesLog<StepMetric>.Read(Path.Combine(reference.RunDirectory, "metrics.jsonl"));
        var b = JsonLinesLog<StepMetric>.Read(Path.Combine(done.Result.RunDirectory, "metrics.jsonl"));
        Assert.Equal(a.Select(m => (m.Step, m.TotalRank)), b.Select(m => (m.Step, m.TotalRank)));
        Assert.True(JsonLinesLog<RankChange>.Read(Path.Combine(reference.RunDirectory, "ranks.jsonl")).Select(c => c.Step).Distinct().Count() >= 2);
        var wa = SafetensorsFile.Load(Path.Combine(reference.RunDirectory, "checkpoints", CheckpointStore.NameOf(9), CheckpointContents.AdaptersFile));
        var wb = SafetensorsFile.Load(Path.Combine(done.Result.RunDirectory, "checkpoints", CheckpointStore.NameOf(9), CheckpointContents.AdaptersFile));
        try
        {
            var worst = wa.Max(kv => (kv.Value - wb[kv.Key]).abs().max().item<float>());
            Assert.True(worst <= 1e-5, $"adapter weights differ by up to {worst}");
        }
        finally
        {
            foreach (var t in wa.Values.Concat(wb.Values)) t.Dispose();
        }
    }
}
