namespace SeLoRA.Data.Splits;

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): a fixed, tiny generator so splits never change with the runtime.</summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong state = seed;

    public ulong Next()
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) by the multiply-shift map (bias below 2^-40 for any dataset size here).</summary>
    public int Below(ulong bound) => (int)(((UInt128)Next() * bound) >> 64);
}
