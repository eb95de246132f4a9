using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>Pieces that DDPM and DDIM share: x0 clipping or dynamic thresholding, and diffusers' randn_tensor.</summary>
internal static class SampleOps
{
    /// <summary>Clips or thresholds a predicted x0 as the config asks; returns the input itself when neither applies.</summary>
    public static Tensor ClipOrThreshold(Tensor predOriginal, SchedulerConfig config)
    {
        if (config.Thresholding) return Threshold(predOriginal, config.DynamicThresholdingRatio, config.SampleMaxValue);
        if (config.ClipSample) return predOriginal.clamp(-config.ClipSampleRange, config.ClipSampleRange);
        return predOriginal;
    }

    // Imagen's dynamic thresholding: per sample, s = clamp(quantile(|x|, ratio), 1, max); x = clamp(x, -s, s) / s.
    static Tensor Threshold(Tensor sample, double ratio, double maxValue)
    {
        using var scope = NewDisposeScope();
        var dtype = sample.dtype;
        var shape = sample.shape;
        if (shape.Length < 2) throw new ArgumentException("dynamic thresholding needs a [batch, channels, ...] sample");
        var work = dtype is ScalarType.Float32 or ScalarType.Float64 ? sample : sample.to(ScalarType.Float32);
        work = work.reshape(shape[0], -1);
        var q = tensor(ratio, work.dtype, work.device);
        var s = quantile(work.abs(), q, 1).clamp(1.0, maxValue).unsqueeze(1);
        var result = minimum(maximum(work, s.neg()), s).div(s).reshape(shape).to(dtype);
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// Standard normal noise like diffusers' randn_tensor: a CPU generator draws on the CPU and the result moves to
    /// the target device, so a seed gives the same noise on every device.
    /// </summary>
    public static Tensor Randn(long[] shape, ScalarType dtype, Device device, Generator? generator)
    {
        if (generator is null) return randn(shape, dtype, device);
        using var scope = NewDisposeScope();
        var drawn = randn(shape, dtype, generator.device, generator: generator);
        return scope.MoveToOuter(drawn.to(device));
    }
}
