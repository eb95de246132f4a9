using SeLoRA.Torch.Randomness;
namespace SeLoRA.Data.Sampling;

/// <summary>
/// Seeded, sharded batch sampler. Every epoch orders the dataset by a permutation drawn from
/// <see cref="SplitMix64"/> seeded with Derive(seed, epoch) (Fisher-Yates from the last element down, unbiased bounded
/// draws), so the order depends only on (seed, epoch, dataset size). Global batch b is elements [b*B, (b+1)*B) of that
/// order. Worker w of W takes a contiguous slice of each global batch: with n items, q = n / W and r = n % W, worker w gets
/// q + 1 items if w &lt; r else q, starting at w*q + min(w, r) — so the slices are disjoint, their concatenation in
/// worker order is the single-worker batch, and sizes differ by at most one. The last partial batch is kept (some workers
/// may get nothing when it holds fewer than W items) unless <see cref="DropLast"/>.
/// </summary>
public sealed class ShardedBatchSampler
{
    public ShardedBatchSampler(int datasetSize, int globalBatchSize, long seed, int worldSize = 1, int rank = 0, bool dropLast = false, bool shuffle = true)
    {
        if (datasetSize < 0) throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "dataset size cannot be negative");
        if (globalBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(globalBatchSize), globalBatchSize, "global batch size must be at least 1");
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "world size must be at least 1");
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize})");
        DatasetSize = datasetSize;
        GlobalBatchSize = globalBatchSize;
        Seed = seed;
        WorldSize = worldSize;
        Rank = rank;
        DropLast = dropLast;
        Shuffle = shuffle;
    }

    public int DatasetSize { get; }
    public int GlobalBatchSize { get; }
    public long Seed { get; }
    public int WorldSize { get; }
    public int Rank { get; }
    public bool DropLast { get; }
    public bool Shuffle { get; }

    /// <summary>Global batches per epoch: floor(N / B) with drop_last, else ceil(N / B).</summary>
    public int BatchesPerEpoch => DropLast ? DatasetSize / GlobalBatchSize : (DatasetSize + GlobalBatchSize - 1) / GlobalBatchSize;

    /// <summary>The dataset order of <paramref name="epoch"/> (identity when not shuffling).</summary>
    public int[] EpochOrder(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch cannot be negative");
        var order = new int[DatasetSize];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!Shuffle) return order;
        var rng = new SplitMix64(SplitMix64.Derive(Seed, epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)rng.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>All indices of global batch <paramref name="batchIndex"/> of <paramref name="epoch"/> (what one worker would see alone).</summary>
    public int[] GlobalBatch(int epoch, int batchIndex) => GlobalBatch(EpochOrder(epoch), batchIndex);

    /// <summary>This worker's slice of a global batch.</summary>
    public ShardBatch Shard(int epoch, int batchIndex) => Shard(EpochOrder(epoch), epoch, batchIndex);

    /// <summary>The (offset, count) of worker <paramref name="rank"/>'s slice of a global batch of <paramref name="count"/> items.</summary>
    public static (int Offset, int Count) SliceOf(int count, int worldSize, int rank)
    {
        int q = count / worldSize, r = count % worldSize;
        return (rank * q + Math.Min(rank, r), q + (rank < r ? 1 : 0));
    }

    /// <summary>
    /// This worker's batches from <paramref name="start"/> on, through <paramref name="epochs"/> epochs in all (null: without
    /// end). Resuming from a saved position yields exactly the batches an uninterrupted run would have yielded from there.
    /// </summary>
    public IEnumerable<ShardBatch> Enumerate(SamplerPosition start, int? epochs = null)
    {
        if (start.Epoch < 0 || start.BatchIndex < 0) throw new ArgumentOutOfRangeException(nameof(start), start, "position cannot be negative");
        if (BatchesPerEpoch == 0) yield break;
        for (int epoch = start.Epoch; epochs is null || epoch < epochs; epoch++)
        {
            var order = EpochOrder(epoch);
            for (int b = epoch == start.Epoch ? start.BatchIndex : 0; b < BatchesPerEpoch; b++)
                yield return Shard(order, epoch, b);
        }
    }

    /// <summary>The position after <paramref name="position"/>, rolling over to the next epoch.</summary>
    public SamplerPosition Next(SamplerPosition position) =>
        position.BatchIndex + 1 >= BatchesPerEpoch ? new(position.Epoch + 1, 0) : position with { BatchIndex = position.BatchIndex + 1 };

    int[] GlobalBatch(int[] order, int batchIndex)
    {
        if (batchIndex < 0 || batchIndex >= BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(batchIndex), batchIndex, $"an epoch has {BatchesPerEpoch} batches");
        int from = batchIndex * GlobalBatchSize;
        int count = Math.Min(GlobalBatchSize, DatasetSize - from);
        return order.AsSpan(from, count).ToArray();
    }

    ShardBatch Shard(int[] order, int epoch, int batchIndex)
    {
        var batch = GlobalBatch(order, batchIndex);
        var (offset, count) = SliceOf(batch.Length, WorldSize, Rank);
        return new ShardBatch(new SamplerPosition(epoch, batchIndex), batch.AsSpan(offset, count).ToArray(), batch.Length);
    }
}
