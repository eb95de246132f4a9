using System.Reflection;
using TorchSharp;

namespace SeLoRA.Torch;

/// <summary>Loads TorchSharp's native library once and reports what it found.</summary>
public static class TorchRuntime
{
    static readonly Lazy<TorchInfo> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads libtorch or throws <see cref="TorchLoadException"/> with the cause and the fix.</summary>
    public static TorchInfo EnsureLoaded() => Loaded.Value;

    /// <summary>Sets libtorch's intra-op thread count and reports the result.</summary>
    public static TorchInfo SetThreads(int threads)
    {
        EnsureLoaded();
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one thread");
        torch.set_num_threads(threads);
        return Describe();
    }

    static TorchInfo Load()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e)
        {
            throw new TorchLoadException(e);
        }
        return Describe();
    }

    static TorchInfo Describe()
    {
        var cudaCount = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        return new TorchInfo(
            TorchSharpVersion: typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                               ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown",
            LibTorchVersion: torch.__version__,
            Threads: torch.get_num_threads(),
            InteropThreads: torch.get_num_interop_threads(),
            CudaDevices: cudaCount);
    }
}

/// <summary>What the loaded native library reports about itself.</summary>
public sealed record TorchInfo(string TorchSharpVersion, string LibTorchVersion, int Threads, int InteropThreads, int CudaDevices);

/// <summary>The native library did not load. The message carries the known fixes.</summary>
public sealed class TorchLoadException(Exception inner) : Exception(Explain(inner), inner)
{
    static string Explain(Exception inner)
    {
        var all = inner.ToString();
        var fix = all.Contains("GLIBCXX", StringComparison.Ordinal)
            ? "the system libstdc++ is older than libLibTorchSharp.so needs; rebuild with `dotnet build` so the build's libstdc++ fix " +
              "patches the copied library (README: Troubleshooting), and do not set SeloraSkipLibStdCxxFix"
            : "rebuild so the native package (libtorch-cpu-linux-x64, or TorchSharp-cuda-linux with -p:TorchBackend=cuda) is copied " +
              "next to the program; run `selora doctor` for details";
        return $"TorchSharp's native library failed to load: {inner.GetBaseException().Message}. Fix: {fix}.";
    }
}
