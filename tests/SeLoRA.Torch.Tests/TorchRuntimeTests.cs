using SeLoRA.Torch.Diagnostics;

namespace SeLoRA.Torch.Tests;

public class TorchRuntimeTests
{
    [Fact]
    public void The_native_library_loads_and_reports_libtorch_2_10()
    {
        var info = TorchRuntime.EnsureLoaded();
        Assert.StartsWith("2.10", info.LibTorchVersion);
        Assert.Equal("0.107.0", info.TorchSharpVersion);
        Assert.True(info.Threads >= 1);
        Assert.True(info.CudaDevices >= 0);
    }

    [Fact]
    public void Matmul_throughput_counts_two_n_cubed_flops_per_product()
    {
        var result = MatmulThroughput.Measure(TimeSpan.FromMilliseconds(50), size: 64);
        Assert.True(result.Iterations >= 1);
        var expected = 2.0 * 64 * 64 * 64 * result.Iterations / result.Elapsed.TotalSeconds / 1e9;
        Assert.Equal(expected, result.GigaFlops, 6);
        Assert.Equal("cpu", result.Device);
    }
}
