using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch.Safetensors;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Engine;

public sealed class DataParallelTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void W_replicas_equal_one_replica_on_the_same_global_batch(int workers)
    {
        // batch 5: shards of 3+2 (W=2) or 2+2+1 (W=3), so uneven shards are covered; lambda 1.3 makes real decisions.
        TrainingConfig Config(string name) => fixture.Config(name, maxSteps: 9) with
        {
            // The paper's learning rate: Adam turns float summation-order noise into weight differences of about lr * 1e-2.
            Optimization = fixture.Config(name).Optimization with { BatchSize = 5, MaxSteps = 9, Adam = new() { LearningRate = 1e-4 } },
            SeLora = new SeLoraConfig { Lambda = 1.3, TestInterval = 3 },
        };
        var single = TrainingRun.Execute(Config($"w1-for-{workers}"), new RunOptions { RunsRoot = fixture.RunsRoot }, cancellation: TestContext.Current.CancellationToken);
        var parallel = TrainingRun.Execute(Config($"w{workers}"), new RunOptions { RunsRoot = fixture.RunsRoot, Replicas = InProcessReplicaGroup.Factory(workers) }, cancellation: TestContext.Current.CancellationToken);

        var a = JsonLinesLog<StepMetric>.Read(Path.Combine(single.RunDirectory, "metrics.jsonl"));
        var b = JsonLinesLog<StepMetric>.Read(Path.Combine(parallel.RunDirectory, "metrics.jsonl"));
        Assert.Equal(a.Select(m => (m.Step, m.TotalRank)), b.Select(m => (m.Step, m.TotalRank)));
        var changesA = JsonLinesLog<RankChange>.Read(Path.Combine(single.RunDirectory, "ranks.jsonl"));
        var changesB = JsonLinesLog<RankChange>.Read(Path.Combine(parallel.RunDirectory, "ranks.jsonl"));
        Assert.Equal(changesA, changesB);
        Assert.True(changesA.Select(c => c.Step).Distinct().Count() >= 2, "at least two expansion tests expanded something");
        Assert.True(changesA.Count < a[0].TotalRank * 3, "lambda 1.3 should not expand every layer at every test");
        foreach (var (x, y) in a.Zip(b)) Assert.True(Math.Abs(x.Loss - y.Loss) <= 1e-5 * Math.Max(1, Math.Abs(x.Loss)), $"step {x.Step}: loss {x.Loss} vs {y.Loss}");

        var last = CheckpointStore.NameOf(9);
        var tensorsA = SafetensorsFile.Load(Path.Combine(single.RunDirectory, "checkpoints", last, CheckpointContents.AdaptersFile));
        var tensorsB = SafetensorsFile.Load(Path.Combine(parallel.RunDirectory, "checkpoints", last, CheckpointContents.AdaptersFile));
        try
        {
            Assert.Equal(tensorsA.Keys.Order(), tensorsB.Keys.Order());
            var worst = tensorsA.Max(kv => (kv.Value - tensorsB[kv.Key]).abs().max().item<float>());
            Assert.True(worst <= 1e-5, $"adapter weights differ by up to {worst}");
        }
        finally
        {
            foreach (var t in tensorsA.Values.Concat(tensorsB.Values)) t.Dispose();
        }
    }

    [Fact]
    public async Task A_replica_that_drifts_is_named_with_its_first_differing_tensor()
    {
        var config = fixture.Config("drift", maxSteps: 2);
        var group = (InProcessReplicaGroup)InProcessReplicaGroup.Factory(2)(Context(config));
        using var _ = group;
        var workers = group.Replicas.Select((r, i) => new ReplicaShardWorker($"replica-{i}", r)).ToList();
        Assert.Empty(await DataParallelStep.FindMismatches(workers, 0, TestContext.Current.CancellationToken));
        // Nudge one element of one adapter matrix of the second replica.
        var layer = (SeLoraLinear)group.Replicas[1].Adapters.UnetLayers[3];
        using (no_grad()) layer.B.add_(1e-6f);
        var mismatch = Assert.Single(await DataParallelStep.FindMismatches(workers, 0, TestContext.Current.CancellationToken));
        Assert.Equal("replica-1", mismatch.Worker);
        Assert.Contains(layer.Name + ".lora_B.weight", mismatch.Message);
    }

    ReplicaGroupContext Context(TrainingConfig config)
    {
        var models = SeLoRA.Diffusion.Pipelines.StableDiffusionModels.Load(config.BaseModel);
        var layout = new RunLayout(Path.Combine(fixture.RunsRoot, config.Name));
        var data = TrainingData.Prepare(config, models, layout, config.Data.LatentCache, _ => { });
        return new ReplicaGroupContext(config, data, layout, null, 2, CPU, models);
    }
}
