using SeLoRA.Adapters.SeLora;
using SeLoRA.Data.Sampling;
using SeLoRA.Training.Runs;
using SeLoRA.Training.Steps;

namespace SeLoRA.Training.Engine;

/// <summary>
/// One optimizer step over W replicas that equals one replica on the whole global batch: the batch is cut into W
/// contiguous shards (sizes differ by at most one), shard gradients are summed in worker order (so the sum does not depend
/// on which answer arrives first; each shard's loss is already its share of the global mean, so uneven shards weigh
/// right), every replica applies the sum; on a SeLoRA test step every replica runs the trial pass on its shard, the trial
/// gradients are summed the same way, and the decision is made once, here, from the reduced gradients, then applied by
/// every replica with its seeded generators.
/// </summary>
public static class DataParallelStep
{
    /// <param name="onLost">Called for a worker that fails after the gradients were reduced; the step completes on the
    /// others (a failure while computing shard gradients throws instead, and the caller re-runs the step without it).</param>
    public static async Task<StepResult> RunAsync(IReadOnlyList<IShardWorker> workers, IReadOnlyList<int> datasetIndices, long step,
        SeLoraConfig? seLora, bool checkFingerprints, CancellationToken cancellation = default, Action<IShardWorker, Exception>? onLost = null,
        Action<ReplicaMismatchException>? onMismatch = null)
    {
        ArgumentNullException.ThrowIfNull(workers);
        if (workers.Count == 0) throw new InvalidOperationException($"step {step}: no worker to train on.");
        var shards = Enumerable.Range(0, workers.Count).Select(w =>
        {
            var (offset, count) = ShardedBatchSampler.SliceOf(datasetIndices.Count, workers.Count, w);
            return datasetIndices.Skip(offset).Take(count).ToList();
        }).ToList();

        var computed = await Task.WhenAll(workers.Select((w, i) => w.ComputeShardAsync(shards[i], step, cancellation)));
        var reduced = GradientBuffer.Sum(computed.Select(c => c.Gradients).ToList());
        var loss = 0.0;
        foreach (var c in computed) loss += c.Loss;

        var live = workers.ToList();
        async Task<List<T>> All<T>(Func<IShardWorker, Task<T>> call)
        {
            var tasks = live.Select(call).ToList();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch (Exception) when (tasks.Any(t => t.IsCompletedSuccessfully))
            {
                // Some answered: go on with them (below); all failing rethrows.
            }
            var survivors = new List<IShardWorker>();
            var results = new List<T>();
            for (var i = 0; i < tasks.Count; i++)
            {
                if (tasks[i].IsCompletedSuccessfully)
                {
                    survivors.Add(live[i]);
                    results.Add(tasks[i].Result);
                }
                else onLost?.Invoke(live[i], tasks[i].Exception?.GetBaseException() ?? new TaskCanceledException());
            }
            live = survivors;
            return results;
        }

        var applied = await All(w => w.ApplyReducedAsync(reduced, step, cancellation));
        var changes = applied[0].Changes.ToList();
        ExpansionTestResult? test = null;
        if (applied[0].OriginalScores is { } original)
        {
            var config = seLora ?? throw new InvalidOperationException($"step {step}: a worker reported a SeLoRA test, but the run has no SeLoRA config.");
            var layers = applied[0].Layers ?? throw new InvalidOperationException($"step {step}: {live[0].Name} sent FI_orig without its layers.");
            var trial = TrialScores.FromBuffer(await TrialSum(workers, shards, step, cancellation, onLost, w => live.Remove(w)), layers);
            var decisions = SeLoraController.Decide(layers, original, trial, config);
            await All(w => w.ApplyDecisionsAsync(decisions, step, cancellation));
            test = new ExpansionTestResult(step, decisions);
            changes.AddRange(decisions.Where(d => d.Expand).Select(d => new RankChange(step, d.Name, d.RankBefore, d.RankBefore + 1)));
        }
        if (checkFingerprints || changes.Count > 0)
        {
            var mismatches = await FindMismatches(live, step, cancellation);
            if (mismatches.Count > 0)
            {
                if (onMismatch is null) throw mismatches[0];
                foreach (var m in mismatches) onMismatch(m);
            }
        }
        return new StepResult(step, loss, test, changes);
    }

    /// <summary>
    /// The trial gradients of every shard summed in shard order. A worker lost here has its shard recomputed by a survivor
    /// (the batch is rebuilt from the same keyed draws, and every replica holds the same post-step weights), so FI_exp is
    /// still that of the whole global batch.
    /// </summary>
    static async Task<float[]> TrialSum(IReadOnlyList<IShardWorker> workers, IReadOnlyList<List<int>> shards, long step,
        CancellationToken cancellation, Action<IShardWorker, Exception>? onLost, Action<IShardWorker> drop)
    {
        var tasks = workers.Select(w => w.ComputeTrialAsync(step, null, cancellation)).ToList();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (tasks.Any(t => t.IsCompletedSuccessfully))
        {
        }
        var buffers = new float[workers.Count][];
        var survivors = new List<IShardWorker>();
        for (var i = 0; i < tasks.Count; i++)
        {
            if (tasks[i].IsCompletedSuccessfully)
            {
                buffers[i] = tasks[i].Result;
                survivors.Add(workers[i]);
            }
        }
        if (survivors.Count == 0) await Task.WhenAll(tasks); // rethrows
        for (var i = 0; i < tasks.Count; i++)
        {
            if (buffers[i] is not null) continue;
            onLost?.Invoke(workers[i], tasks[i].Exception?.GetBaseException() ?? new TaskCanceledException());
            drop(workers[i]);
            buffers[i] = await survivors[0].ComputeTrialAsync(step, shards[i], cancellation);
        }
        return GradientBuffer.Sum(buffers);
    }

    /// <summary>Every replica must hold the same adapters and optimizer state; a mismatch names the worker that differs.</summary>
    public static async Task CheckFingerprints(IReadOnlyList<IShardWorker> workers, long step, CancellationToken cancellation)
    {
        var mismatches = await FindMismatches(workers, step, cancellation);
        if (mismatches.Count > 0) throw mismatches[0];
    }

    /// <summary>The replicas that differ from the first, each with the first tensor that differs.</summary>
    public static async Task<IReadOnlyList<ReplicaMismatchException>> FindMismatches(IReadOnlyList<IShardWorker> workers, long step, CancellationToken cancellation)
    {
        if (workers.Count < 2) return [];
        var prints = await Task.WhenAll(workers.Select(w => w.FingerprintAsync(cancellation)));
        var result = new List<ReplicaMismatchException>();
        IReadOnlyList<string>? reference = null;
        for (var w = 1; w < workers.Count; w++)
        {
            if (prints[w] == prints[0]) continue;
            reference ??= await workers[0].FingerprintDetailsAsync(cancellation);
            var details = await workers[w].FingerprintDetailsAsync(cancellation);
            var first = reference.Zip(details).Select((p, i) => (p, i)).FirstOrDefault(x => x.p.First != x.p.Second);
            var what = first.p.First is null
                ? $"{details.Count} tensors against {reference.Count}"
                : $"first differing tensor {first.p.Second.Split('=')[0]}";
            result.Add(new ReplicaMismatchException(workers[w].Name, step,
                $"after step {step} replica {workers[w].Name} differs from {workers[0].Name}: {what}."));
        }
        return result;
    }
}
