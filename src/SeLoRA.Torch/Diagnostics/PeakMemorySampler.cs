namespace SeLoRA.Torch.Diagnostics;

/// <summary>
/// Samples this process's resident memory on a background thread and keeps the peak, so one run can measure several
/// phases (the kernel's VmHWM only ever grows). libtorch's CPU allocations are outside the .NET heap, so RSS is the measure.
/// </summary>
public sealed class PeakMemorySampler : IDisposable
{
    readonly Thread _thread;
    readonly TimeSpan _interval;
    volatile bool _stop;
    long _peak;

    public long BaselineBytes { get; }

    public long PeakBytes => Interlocked.Read(ref _peak);

    /// <summary>Peak above the resident size when sampling started.</summary>
    public long PeakIncreaseBytes => Math.Max(0, PeakBytes - BaselineBytes);

    public PeakMemorySampler(TimeSpan? interval = null)
    {
        _interval = interval ?? TimeSpan.FromMilliseconds(5);
        BaselineBytes = ResidentBytes();
        _peak = BaselineBytes;
        _thread = new Thread(Run) { IsBackground = true, Name = "peak-memory-sampler" };
        _thread.Start();
    }

    void Run()
    {
        while (!_stop)
        {
            Observe();
            Thread.Sleep(_interval);
        }
    }

    void Observe()
    {
        var now = ResidentBytes();
        long seen;
        while (now > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen) { }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        Observe();
    }

    /// <summary>
    /// Hands freed heap pages back to the OS (glibc's malloc_trim), so a measurement after a larger one starts from a
    /// true baseline instead of memory the allocator kept. A no-op off glibc.
    /// </summary>
    public static void TrimProcessHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and other C libraries have no malloc_trim; the figures are then upper bounds.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>Resident set size from /proc/self/statm on Linux; the working set elsewhere.</summary>
    public static long ResidentBytes()
    {
        if (OperatingSystem.IsLinux())
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1]) * Environment.SystemPageSize;
        }
        return Environment.WorkingSet;
    }
}
