using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Vae;

/// <summary>The VAE posterior: channels split into mean and log-variance, log-variance clamped to [-30, 20] as upstream.</summary>
public sealed class DiagonalGaussianDistribution : IDisposable
{
    public Tensor Mean { get; }
    public Tensor LogVar { get; }
    public Tensor Std { get; }

    public DiagonalGaussianDistribution(Tensor moments)
    {
        using var scope = NewDisposeScope();
        var parts = moments.chunk(2, dim: 1);
        Mean = parts[0].contiguous();
        LogVar = parts[1].clamp(-30.0, 20.0);
        Std = LogVar.mul(0.5).exp();
        scope.MoveToOuter(Mean, LogVar, Std);
    }

    /// <summary>mean + std * noise, with noise drawn by the caller (per-sample generators keep batches split-invariant).</summary>
    public Tensor Sample(Tensor noise) => Mean + Std * noise;

    public Tensor Sample(Generator generator) =>
        Sample(randn(Mean.shape, dtype: Mean.dtype, device: Mean.device, generator: generator));

    public Tensor Mode() => Mean.alias();

    /// <summary>KL divergence to N(0, I), summed over channel and pixel dimensions, one value per sample.</summary>
    public Tensor Kl()
    {
        using var scope = NewDisposeScope();
        var kl = (Mean.pow(2) + LogVar.exp() - 1.0 - LogVar).sum(new long[] { 1, 2, 3 }).mul(0.5);
        return scope.MoveToOuter(kl);
    }

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}
