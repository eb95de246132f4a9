using System.Diagnostics;
using static TorchSharp.torch;

namespace SeLoRA.Torch.Diagnostics;

/// <summary>A quick float32 matmul throughput figure, for `selora doctor` and benchmarks.</summary>
public static class MatmulThroughput
{
    public sealed record Result(int Size, int Iterations, TimeSpan Elapsed, double GigaFlops, string Device);

    /// <summary>Multiplies two size x size matrices repeatedly for about <paramref name="budget"/>.</summary>
    public static Result Measure(TimeSpan budget, int size = 1024, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        device ??= CPU;
        using var scope = NewDisposeScope();
        var generator = new TorchSharp.torch.Generator(0, device);
        var a = randn(new long[] { size, size }, generator: generator, device: device);
        var b = randn(new long[] { size, size }, generator: generator, device: device);
        matmul(a, b).Dispose(); // warm-up: first call allocates and picks kernels
        var iterations = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < budget || iterations == 0)
        {
            using var c = matmul(a, b);
            if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
            iterations++;
        }
        watch.Stop();
        var flops = 2.0 * size * size * (double)size * iterations;
        return new Result(size, iterations, watch.Elapsed, flops / watch.Elapsed.TotalSeconds / 1e9, device.ToString());
    }
}
