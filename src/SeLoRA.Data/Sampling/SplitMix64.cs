namespace SeLoRA.Data.Sampling;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, fully specified generator, so permutations are the same on every
/// platform and .NET/libtorch version (System.Random's algorithm and torch.randperm's are not promised stable).
/// </summary>
public sealed class SplitMix64
{
    ulong state;

    public SplitMix64(ulong seed) => state = seed;

    public ulong Next()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        return Mix(z);
    }

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public ulong NextBelow(ulong bound)
    {
        if (bound == 0) throw new ArgumentOutOfRangeException(nameof(bound), "bound must be positive");
        ulong threshold = (0 - bound) % bound;
        while (true)
        {
            ulong x = Next();
            UInt128 m = (UInt128)x * bound;
            if ((ulong)m >= threshold) return (ulong)(m >> 64);
        }
    }

    /// <summary>The SplitMix64 finaliser: a bijective 64-bit mix.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A seed for a stream keyed by several integers (e.g. seed, epoch): each part is folded in through Mix.</summary>
    public static ulong Derive(params long[] parts)
    {
        ulong h = 0x6A09E667F3BCC908UL;
        foreach (var p in parts) h = Mix(h ^ Mix((ulong)p + 0x9E3779B97F4A7C15UL));
        return h;
    }
}
