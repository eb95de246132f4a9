using SeLoRA.Torch.Randomness;

namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>The draws SynthCXR's sampler and renderer make from a SplitMix64 stream; their order fixes the output bytes.</summary>
internal static class SplitMix64Draws
{
    public static double Uniform(this SplitMix64 rng, double min, double max) => min + (max - min) * rng.NextDouble();

    public static int NextInt(this SplitMix64 rng, int count)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be positive.");
        return (int)(rng.NextDouble() * count);
    }

    public static bool Chance(this SplitMix64 rng, double probability) => rng.NextDouble() < probability;

    public static T Pick<T>(this SplitMix64 rng, IReadOnlyList<T> items) => items[rng.NextInt(items.Count)];

    /// <summary>Box-Muller, one value per two uniforms.</summary>
    public static double NextGaussian(this SplitMix64 rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
