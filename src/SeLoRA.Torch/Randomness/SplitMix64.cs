namespace SeLoRA.Torch.Randomness;

/// <summary>
/// Vigna's SplitMix64: the one counter-based generator every seeded, documented draw in the project uses (splits, epoch
/// orders, per-sample keys, adapter draws, SynthCXR). Its algorithm is fixed here, unlike System.Random's or libtorch's,
/// so results stay the same across runtimes and versions.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    public const ulong Golden = 0x9E3779B97F4A7C15UL;

    ulong _state = seed;

    /// <summary>The finaliser: a bijective 64-bit mix.</summary>
    public static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>The first output of a generator seeded with <paramref name="x"/>: Mix(x + golden).</summary>
    public static ulong Hash(ulong x) => Mix(unchecked(x + Golden));

    /// <summary>A key from several parts: h = 0x6A09E667F3BCC908, then h = Mix(h XOR Hash(part)) for each part in order.</summary>
    public static ulong Derive(params long[] parts)
    {
        var h = 0x6A09E667F3BCC908UL;
        foreach (var part in parts) h = Mix(h ^ Hash((ulong)part));
        return h;
    }

    public ulong Next() => Mix(_state = unchecked(_state + Golden));

    /// <summary>Uniform in [0, bound) without bias (Lemire's multiply-shift with rejection).</summary>
    public ulong NextBelow(ulong bound)
    {
        if (bound == 0) throw new ArgumentOutOfRangeException(nameof(bound), "bound must be positive");
        var threshold = (0 - bound) % bound;
        while (true)
        {
            var m = (UInt128)Next() * bound;
            if ((ulong)m >= threshold) return (ulong)(m >> 64);
        }
    }

    /// <summary>Lemire's multiply-shift without the rejection step (bias below bound / 2^64); kept for the pinned dataset splits.</summary>
    public ulong MultiplyShift(ulong bound) => (ulong)(((UInt128)Next() * bound) >> 64);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
