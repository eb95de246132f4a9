namespace SeLoRA.Cluster.Benchmarks;

/// <summary>
/// One size of <see cref="AllReduceBenchmark"/>: best seconds of an all-reduce (A->B, sum, B->A) through the tensor
/// transport and of the same bytes over a plain loopback socket. MB/s counts both directions (2 x Megabytes per round).
/// </summary>
public sealed record AllReduceFigure(int Megabytes, double TransportSeconds, double RawTcpSeconds)
{
    public double TransportMBps => 2.0 * Megabytes / TransportSeconds;
    public double RawTcpMBps => 2.0 * Megabytes / RawTcpSeconds;
    /// <summary>Share of raw TCP throughput the transport reaches (1 = as fast as a bare socket).</summary>
    public double Ratio => RawTcpSeconds / TransportSeconds;
}
