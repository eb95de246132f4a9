using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Akka.Actor;
using SeLoRA.Cluster.Serialization;
using SeLoRA.Cluster.Transport;
using static SeLoRA.Cluster.Tests.Transport.TensorFrameTests;

namespace SeLoRA.Cluster.Tests.Transport;

public sealed class TensorTransportTests(LoopbackPair pair) : IClassFixture<LoopbackPair>
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(20);
    static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1 << 18)]                   // 1 MB
    [InlineData(20 * (1 << 18) + 3)]        // 20 MB and an odd tail
    public async Task Buffers_travel_between_systems_bit_exact(int count)
    {
        var data = Awkward(count, count);
        var id = Guid.NewGuid();
        var arriving = pair.B.ReceiveAsync(id, Long, pair.A.LocalAddress, Cancel);
        await pair.A.SendAsync(pair.B.LocalAddress, id, data, Cancel);
        AssertBitExact(data, await arriving);

        // And back, with the buffer arriving before anyone asks for it.
        var back = Guid.NewGuid();
        await pair.B.SendAsync(pair.A.LocalAddress, back, data.AsMemory(1), Cancel);
        AssertBitExact(data[1..], await pair.A.ReceiveAsync(back, Long, cancellationToken: Cancel));
        Assert.Equal(0, pair.A.Inbox.Count);
    }

    [Fact]
    public async Task Heartbeat_sized_messages_keep_their_latency_during_50_MB_transfers()
    {
        Assert.Equal("warm", await pair.EchoOnB.Ask<string>("warm", Long, Cancel));
        var data = Awkward(50 * (1 << 18), 50);
        var rtts = new List<double>();
        using var done = new CancellationTokenSource();
        var pinger = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                await pair.EchoOnB.Ask<string>("ping", TimeSpan.FromSeconds(5));
                lock (rtts) rtts.Add(clock.Elapsed.TotalMilliseconds);
                await Task.Delay(5);
            }
        }, Cancel);
        var transfers = Stopwatch.StartNew();
        for (var round = 0; round < 2; round++)
        {
            var there = Guid.NewGuid();
            var arriving = pair.B.ReceiveAsync(there, Long, cancellationToken: Cancel);
            await pair.A.SendAsync(pair.B.LocalAddress, there, data, Cancel);
            var received = await arriving;
            var back = Guid.NewGuid();
            var returning = pair.A.ReceiveAsync(back, Long, cancellationToken: Cancel);
            await pair.B.SendAsync(pair.A.LocalAddress, back, received, Cancel);
            AssertBitExact(data, await returning);
        }
        var elapsed = transfers.Elapsed;
        done.Cancel();
        await pinger;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"4 x 50 MB in {elapsed.TotalMilliseconds:0} ms; {rtts.Count} pings, max {rtts.Max():0.0} ms, median {rtts.Order().ElementAt(rtts.Count / 2):0.0} ms");
        Assert.True(rtts.Count >= 3, $"only {rtts.Count} pings completed during the transfers");
        Assert.True(rtts.Max() < 1000, $"a ping took {rtts.Max():0} ms during the transfers (bound 1000 ms)");
    }

    [Fact]
    public async Task A_transfer_that_never_starts_times_out_naming_it()
    {
        var id = Guid.NewGuid();
        var error = await Assert.ThrowsAsync<TensorTransferTimeoutException>(() =>
            pair.B.ReceiveAsync(id, TimeSpan.FromMilliseconds(300), pair.A.LocalAddress, Cancel));
        Assert.Contains(id.ToString(), error.Message);
        Assert.Contains("nothing arrived after 0.3 s", error.Message);
        Assert.Contains(pair.A.LocalAddress.ToString(), error.Message);
        Assert.Equal(0, pair.B.Inbox.Count);
    }

    [Fact]
    public async Task A_stalled_transfer_times_out_with_the_counts()
    {
        var id = Guid.NewGuid();
        var data = Awkward(1 << 20, 3);
        using var stream = Connect(pair.B.Endpoint);
        TensorFrame.WriteHeader(stream, new TensorFrameHeader(id, data.Length, "stalling-sender"));
        stream.Write(MemoryMarshal.AsBytes(data.AsSpan(0, data.Length / 2)));
        var error = await Assert.ThrowsAsync<TensorTransferTimeoutException>(() =>
            pair.B.ReceiveAsync(id, TimeSpan.FromMilliseconds(500), cancellationToken: Cancel));
        Assert.Contains(id.ToString(), error.Message);
        Assert.Contains("2,097,152 of 4,194,304 bytes", error.Message);
        Assert.Contains("stalling-sender", error.Message);
        Assert.Equal(2_097_152, error.BytesReceived);
        Assert.Equal(4_194_304, error.BytesExpected);
    }

    [Fact]
    public async Task An_aborted_transfer_fails_with_the_counts()
    {
        var id = Guid.NewGuid();
        var data = Awkward(1 << 20, 4);
        var arriving = pair.B.ReceiveAsync(id, Long, cancellationToken: Cancel);
        using (var stream = Connect(pair.B.Endpoint))
        {
            TensorFrame.WriteHeader(stream, new TensorFrameHeader(id, data.Length, "aborting-sender"));
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan(0, 3 * (1 << 18))));
        }
        var error = await Assert.ThrowsAsync<TensorTransferException>(() => arriving);
        Assert.Contains(id.ToString(), error.Message);
        Assert.Contains("lost after 3,145,728 of 4,194,304 bytes", error.Message);
        Assert.Contains("aborting-sender", error.Message);
    }

    [Fact]
    public async Task Corrupted_data_is_refused_on_both_sides()
    {
        var id = Guid.NewGuid();
        var data = Awkward(10_001, 5);
        var arriving = pair.B.ReceiveAsync(id, Long, cancellationToken: Cancel);
        using (var stream = Connect(pair.B.Endpoint))
        {
            TensorFrame.WriteHeader(stream, new TensorFrameHeader(id, data.Length, "corrupting-sender"));
            var checksum = TensorFrame.Checksum(data);
            data[5000] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(data[5000]) ^ 0x10); // a bit flips on the way
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            TensorFrame.WriteTrailer(stream, checksum);
            Assert.Equal(TensorFrameStatus.ChecksumMismatch, TensorFrame.ReadStatus(stream, id));
        }
        var error = await Assert.ThrowsAsync<TensorTransferException>(() => arriving);
        Assert.Contains(id.ToString(), error.Message);
        Assert.Contains("checksum mismatch", error.Message);
        Assert.Contains("refused", error.Message);
    }

    [Fact]
    public async Task A_second_transfer_with_the_same_id_is_refused_and_the_first_survives()
    {
        var id = Guid.NewGuid();
        var data = Awkward(1000, 6);
        await pair.A.SendAsync(pair.B.LocalAddress, id, data, Cancel);
        var error = await Assert.ThrowsAsync<TensorTransferException>(() => pair.A.SendAsync(pair.B.LocalAddress, id, new float[10], Cancel));
        Assert.Contains("already arriving or waiting", error.Message);
        Assert.Contains(pair.B.LocalAddress.ToString(), error.Message);
        AssertBitExact(data, await pair.B.ReceiveAsync(id, Long, cancellationToken: Cancel));
    }

    [Fact]
    public async Task A_node_sends_to_itself_without_the_wire()
    {
        var id = Guid.NewGuid();
        var data = Awkward(777, 8);
        await pair.A.SendAsync(pair.A.LocalAddress, id, data, Cancel);
        AssertBitExact(data, await pair.A.ReceiveAsync(id, Long, cancellationToken: Cancel));
    }

    [Fact]
    public async Task A_node_without_a_tensor_channel_is_named()
    {
        var nowhere = new Address("akka.tcp", "selora", "127.0.0.1", 9);
        var id = Guid.NewGuid();
        var error = await Assert.ThrowsAsync<TensorTransferException>(() => pair.A.SendAsync(nowhere, id, new float[4], Cancel));
        Assert.Contains(id.ToString(), error.Message);
        Assert.Contains("no tensor channel answered at akka.tcp://selora@127.0.0.1:9", error.Message);
    }

    [Fact]
    public void Control_messages_use_the_binary_serializer()
    {
        var serialization = pair.SystemA.Serialization;
        var endpoint = new TensorChannelEndpoint("node-ä.example", 40123);
        var serializer = Assert.IsType<TensorMessageSerializer>(serialization.FindSerializerFor(endpoint));
        Assert.IsType<TensorMessageSerializer>(serialization.FindSerializerFor(TensorChannelQuery.Instance));
        var bytes = serializer.ToBinary(endpoint);
        Assert.True(bytes.Length < 32);
        Assert.Equal(endpoint, serializer.FromBinary(bytes, serializer.Manifest(endpoint)));
        Assert.Equal(TensorChannelQuery.Instance, serializer.FromBinary(serializer.ToBinary(TensorChannelQuery.Instance), serializer.Manifest(TensorChannelQuery.Instance)));
    }

    static NetworkStream Connect(TensorChannelEndpoint endpoint)
    {
        var client = new TcpClient(endpoint.Host, endpoint.Port) { NoDelay = true };
        client.Client.ReceiveTimeout = 10_000;
        return new NetworkStream(client.Client, ownsSocket: true);
    }
}
