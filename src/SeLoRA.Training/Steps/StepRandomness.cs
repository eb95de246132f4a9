using SeLoRA.Torch.Randomness;
using SeLoRA.Data.Sampling;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Training.Steps;

/// <summary>
/// Per-sample randomness of a training step, keyed by (seed, step, global sample index, purpose), so a sample's noise
/// and timestep do not depend on how the global batch is split across workers.
/// </summary>
/// <remarks>
/// Key: <c>SplitMix64.Derive(seed, step, sampleIndex, purpose)</c> from SeLoRA.Data.Sampling, i.e. starting from
/// h = 0x6A09E667F3BCC908, each part p folds in as h = Mix(h XOR Mix(p + 0x9E3779B97F4A7C15)), where Mix is the SplitMix64
/// finaliser. The noise is torch.randn on a CPU generator seeded with the noise key (float32, then moved); the timestep
/// is uniform in [0, N) from a SplitMix64 stream seeded with the timestep key (Lemire's unbiased bound), so it is the
/// same on every platform.
/// </remarks>
public static class StepRandomness
{
    public static ulong Key(ulong seed, long step, long sampleIndex, StepRandomPurpose purpose)
        => SplitMix64.Derive(unchecked((long)seed), step, sampleIndex, (long)purpose);

    /// <summary>The timestep of one sample, uniform in [0, numTrainTimesteps).</summary>
    public static long Timestep(ulong seed, long step, long sampleIndex, int numTrainTimesteps)
    {
        if (numTrainTimesteps < 1) throw new ArgumentOutOfRangeException(nameof(numTrainTimesteps), numTrainTimesteps, "at least one timestep");
        var stream = new SplitMix64(Key(seed, step, sampleIndex, StepRandomPurpose.Timestep));
        return (long)stream.NextBelow((ulong)numTrainTimesteps);
    }

    /// <summary>Standard normal noise of one sample, float32 CPU, of <paramref name="shape"/> (e.g. [4, h, w]).</summary>
    public static Tensor Noise(ulong seed, long step, long sampleIndex, long[] shape)
    {
        TorchRuntime.EnsureLoaded();
        using var generator = new Generator(Key(seed, step, sampleIndex, StepRandomPurpose.Noise), CPU);
        return randn(shape, ScalarType.Float32, CPU, generator: generator);
    }

    /// <summary>Noise [B, ...sampleShape] and timesteps [B] (int64) for the given global sample indices, on <paramref name="device"/>.</summary>
    public static (Tensor Noise, Tensor Timesteps) ForSamples(ulong seed, long step, IReadOnlyList<long> sampleIndices,
        long[] sampleShape, int numTrainTimesteps, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var noise = stack(sampleIndices.Select(i => Noise(seed, step, i, sampleShape)).ToArray(), 0).to(dtype, device);
        var timesteps = tensor(sampleIndices.Select(i => Timestep(seed, step, i, numTrainTimesteps)).ToArray(), ScalarType.Int64, device);
        return (scope.MoveToOuter(noise), scope.MoveToOuter(timesteps));
    }

    /// <summary>noise_offset's per-sample, per-channel draws [B, C, 1, 1] (standard normal, keyed like the noise), on <paramref name="device"/>.</summary>
    public static Tensor NoiseOffsets(ulong seed, long step, IReadOnlyList<long> sampleIndices, long channels, Device device, ScalarType dtype)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var rows = sampleIndices.Select(i =>
        {
            using var generator = new Generator(Key(seed, step, i, StepRandomPurpose.NoiseOffset), CPU);
            return randn(new[] { channels }, ScalarType.Float32, CPU, generator: generator);
        }).ToArray();
        return scope.MoveToOuter(stack(rows, 0).reshape(sampleIndices.Count, channels, 1, 1).to(dtype, device));
    }
}
