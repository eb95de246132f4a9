using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Cluster.Serialization;
using SeLoRA.Cluster.Transport;

namespace SeLoRA.Cluster.Benchmarks;

/// <summary>
/// Two ActorSystems in this process, joined by Akka.Remote over 127.0.0.1 (ephemeral ports), all-reduce a float32 buffer
/// (A sends to B, B adds its own, B sends the sum back) through the tensor transport; the same round trip, summation
/// included, over one plain loopback socket is the reference. Each figure is the best of a few rounds after a warm-up:
/// on a shared machine that reflects the code's cost rather than other processes' load.
/// </summary>
public static class AllReduceBenchmark
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static IReadOnlyList<AllReduceFigure> Measure(IReadOnlyList<int> megabytes, Action<string>? log)
    {
        if (megabytes.Any(mb => mb <= 0 || mb > 2000))
            throw new ArgumentOutOfRangeException(nameof(megabytes), "each size must be 1..2000 MB.");
        var config = LoopbackConfig();
        var systemA = ActorSystem.Create("bench-a", config);
        var systemB = ActorSystem.Create("bench-b", config);
        try
        {
            var a = TensorTransport.Get(systemA);
            var b = TensorTransport.Get(systemB);
            log?.Invoke($"all-reduce between {a.LocalAddress} and {b.LocalAddress}; data channels {a.Endpoint} and {b.Endpoint}");
            log?.Invoke("   MB | transport ms   MB/s | raw TCP ms   MB/s | ratio");
            var figures = new List<AllReduceFigure>();
            foreach (var mb in megabytes)
            {
                var count = mb * (1 << 20) / sizeof(float);
                var left = Fill(count, 1);
                var right = Fill(count, 2);
                var rounds = mb <= 4 ? 7 : mb <= 16 ? 5 : 3;
                var transport = Best(rounds, () => ViaTransport(a, b, left, right));
                var raw = Best(rounds, () => ViaSocket(left, right));
                var figure = new AllReduceFigure(mb, transport, raw);
                figures.Add(figure);
                log?.Invoke($"{mb,5} | {transport * 1e3,12:0.0} {figure.TransportMBps,6:0} | {raw * 1e3,10:0.0} {figure.RawTcpMBps,6:0} | {figure.Ratio,5:0.00}");
            }
            return figures;
        }
        finally
        {
            Task.WaitAll([systemA.Terminate(), systemB.Terminate()], TimeSpan.FromSeconds(10));
        }
    }

    static Config LoopbackConfig() =>
        ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            """).WithFallback(TensorSerialization.SerializationConfig);

    static double Best(int rounds, Func<double> run)
    {
        run(); // warm-up: connections, JIT
        return Enumerable.Range(0, rounds).Min(_ => run());
    }

    static double ViaTransport(TensorTransport a, TensorTransport b, float[] left, float[] right)
    {
        var clock = Stopwatch.StartNew();
        var there = Guid.NewGuid();
        var back = Guid.NewGuid();
        var arriving = b.ReceiveAsync(there, Timeout);
        a.SendAsync(b.LocalAddress, there, left).GetAwaiter().GetResult();
        var sum = arriving.GetAwaiter().GetResult();
        Add(sum, right);
        var returning = a.ReceiveAsync(back, Timeout);
        b.SendAsync(a.LocalAddress, back, sum).GetAwaiter().GetResult();
        var result = returning.GetAwaiter().GetResult();
        var seconds = clock.Elapsed.TotalSeconds;
        Check(result, left, right);
        return seconds;
    }

    static double ViaSocket(float[] left, float[] right)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var sideA = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        sideA.Connect((IPEndPoint)listener.LocalEndpoint);
        using var sideB = listener.AcceptSocket();
        sideB.NoDelay = true;
        using var streamA = new NetworkStream(sideA);
        using var streamB = new NetworkStream(sideB);
        var clock = Stopwatch.StartNew();
        var peer = Task.Factory.StartNew(() =>
        {
            var sum = GC.AllocateUninitializedArray<float>(left.Length);
            streamB.ReadExactly(MemoryMarshal.AsBytes(sum.AsSpan()));
            Add(sum, right);
            streamB.Write(MemoryMarshal.AsBytes(sum.AsSpan()));
        }, TaskCreationOptions.LongRunning);
        streamA.Write(MemoryMarshal.AsBytes(left.AsSpan()));
        var result = GC.AllocateUninitializedArray<float>(left.Length);
        streamA.ReadExactly(MemoryMarshal.AsBytes(result.AsSpan()));
        peer.GetAwaiter().GetResult();
        var seconds = clock.Elapsed.TotalSeconds;
        Check(result, left, right);
        return seconds;
    }

    static void Add(float[] into, float[] other)
    {
        var width = Vector<float>.Count;
        var i = 0;
        var target = MemoryMarshal.Cast<float, Vector<float>>(into.AsSpan());
        var source = MemoryMarshal.Cast<float, Vector<float>>(other.AsSpan());
        for (var v = 0; v < target.Length; v++) target[v] += source[v];
        for (i = target.Length * width; i < into.Length; i++) into[i] += other[i];
    }

    static float[] Fill(int count, int seed)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < count; i++) data[i] = (float)(random.NextDouble() - 0.5);
        return data;
    }

    static void Check(float[] result, float[] left, float[] right)
    {
        foreach (var i in new[] { 0, result.Length / 2, result.Length - 1 })
            if (result[i] != left[i] + right[i])
                throw new InvalidOperationException($"all-reduce benchmark: element {i} is {result[i]}, expected {left[i] + right[i]}.");
    }
}
