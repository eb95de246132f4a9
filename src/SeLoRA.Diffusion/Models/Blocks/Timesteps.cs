using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers <c>Timesteps</c>: the parameter-free sinusoidal timestep embedding.</summary>
public sealed class Timesteps : nn.Module<Tensor, Tensor>
{
    public long NumChannels { get; }
    public bool FlipSinToCos { get; }
    public double DownscaleFreqShift { get; }

    public Timesteps(long numChannels, bool flipSinToCos, double downscaleFreqShift) : base(nameof(Timesteps))
    {
        NumChannels = numChannels;
        FlipSinToCos = flipSinToCos;
        DownscaleFreqShift = downscaleFreqShift;
        RegisterComponents();
    }

    /// <summary>timesteps [N] (any numeric dtype) -> float32 [N, NumChannels].</summary>
    public override Tensor forward(Tensor timesteps) =>
        GetTimestepEmbedding(timesteps, NumChannels, FlipSinToCos, DownscaleFreqShift);

    /// <summary>
    /// diffusers <c>get_timestep_embedding</c>: freq_k = exp(-ln(max_period) k / (half - shift)), emb = [sin(t f), cos(t f)],
    /// or [cos, sin] when <paramref name="flipSinToCos"/>; an odd dimension gets one zero column.
    /// </summary>
    public static Tensor GetTimestepEmbedding(Tensor timesteps, long embeddingDim, bool flipSinToCos = false,
        double downscaleFreqShift = 1, double scale = 1, double maxPeriod = 10000)
    {
        if (timesteps.dim() != 1)
            throw new ArgumentException($"timesteps must be 1-D, got shape [{string.Join(", ", timesteps.shape)}].", nameof(timesteps));
        using var scope = NewDisposeScope();
        var half = embeddingDim / 2;
        // Same op order as upstream so float32 rounding matches.
        var exponent = arange(0, half, dtype: ScalarType.Float32, device: timesteps.device) * (-Math.Log(maxPeriod));
        exponent = exponent / (half - downscaleFreqShift);
        var freqs = exp(exponent);
        var emb = timesteps.unsqueeze(1).to_type(ScalarType.Float32) * freqs.unsqueeze(0);
        if (scale != 1) emb = emb * scale;
        var sinCos = flipSinToCos ? cat([cos(emb), sin(emb)], -1) : cat([sin(emb), cos(emb)], -1);
        if (embeddingDim % 2 == 1) sinCos = nn.functional.pad(sinCos, [0, 1, 0, 0]);
        return scope.MoveToOuter(sinCos);
    }
}
