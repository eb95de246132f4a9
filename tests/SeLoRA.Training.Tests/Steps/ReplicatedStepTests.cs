using SeLoRA.Data.Sampling;
using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Steps;

public sealed class ReplicatedStepTests(ITestOutputHelper output)
{
    /// <summary>
    /// Two replicas on shards of a batch of 6 against one process on the whole batch, 4 steps with a SeLoRA test every 2
    /// (lambda 1.5, so some layers expand and some do not): same losses, same expansion decisions, same adapter weights (float summation order aside).
    /// </summary>
    [Fact]
    public void Two_replicas_train_like_one_process_including_expansions()
    {
        const double Lambda = 1.5;
        using var single = new StepFixture(lambda: Lambda, testInterval: 2);
        using var a = new StepFixture(lambda: Lambda, testInterval: 2);
        using var b = new StepFixture(lambda: Lambda, testInterval: 2);
        var shards = Enumerable.Range(0, 2).Select(rank =>
        {
            var (offset, count) = ShardedBatchSampler.SliceOf(6, 2, rank);
            return (rank == 0 ? a : b).Batch.Slice(offset, count);
        }).ToList();
        for (long s = 1; s <= 4; s++)
        {
            var one = single.Step.RunStep(single.Batch, s);
            var two = ReplicatedStep.Run([a.Step, b.Step], shards, s);
            output.WriteLine($"step {s}: loss {one.Loss:G9} vs {two.Loss:G9}; expanded {one.Test?.ExpandedCount} vs {two.Test?.ExpandedCount}");
            Assert.Equal(one.Loss, two.Loss, 1e-6 * one.Loss);
            Assert.Equal(one.Test?.Decisions.Select(d => d.Expand), two.Test?.Decisions.Select(d => d.Expand));
        }
        Assert.Equal(single.Layers.Select(l => l.Rank), a.Layers.Select(l => l.Rank));
        Assert.Equal(a.Layers.Select(l => l.Rank), b.Layers.Select(l => l.Rank));
        double worst = 0;
        for (var i = 0; i < single.Layers.Count; i++)
        {
            using var expected = single.Layers[i].DeltaWeight();
            using var replicaA = a.Layers[i].DeltaWeight();
            using var replicaB = b.Layers[i].DeltaWeight();
            Assert.True(replicaA.equal(replicaB).all().item<bool>(), $"replicas disagree on {a.Layers[i].Name}");
            var scale = Math.Max(expected.abs().max().item<float>(), 1e-12f);
            worst = Math.Max(worst, (replicaA - expected).abs().max().item<float>() / scale);
        }
        output.WriteLine($"ranks {string.Join(",", single.Layers.Select(l => l.Rank))}; worst delta-weight difference / max |delta| {worst:E2}");
        Assert.True(worst < 1e-4, $"delta weights differ by {worst:E2}");
    }
}
