using SeLoRA.Torch.Randomness;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Core;

/// <summary>
/// Seeds for the random draws of adapters, computed from (run seed, layer index, draw count) only, so replicas that
/// share the run seed draw identical tensors without talking to each other.
/// </summary>
/// <remarks>
/// seed = SplitMix64(SplitMix64(SplitMix64(runSeed) XOR layerIndex) XOR drawCount), where SplitMix64 is Vigna's
/// finaliser with the golden-ratio increment (0x9E3779B97F4A7C15). Draws are made on a CPU generator in float32 and
/// then moved to the parameter's device and type, so the values do not depend on the device either.
/// </remarks>
public static class DrawSeed
{
    public static ulong For(ulong runSeed, int layerIndex, long drawCount)
    {
        if (layerIndex < 0) throw new ArgumentOutOfRangeException(nameof(layerIndex), layerIndex, "layer index must be >= 0");
        if (drawCount < 0) throw new ArgumentOutOfRangeException(nameof(drawCount), drawCount, "draw count must be >= 0");
        return SplitMix64.Hash(SplitMix64.Hash(SplitMix64.Hash(runSeed) ^ (ulong)layerIndex) ^ (ulong)drawCount);
    }

    /// <summary>A fresh CPU generator for one draw. Dispose it after the draw.</summary>
    public static Generator Generator(ulong runSeed, int layerIndex, long drawCount)
        => new(For(runSeed, layerIndex, drawCount), CPU);
}
