using System.Net;
using System.Net.Sockets;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Tests.Commands;

/// <summary>A bare TCP connection to a command host that sends and reads frames (or raw bytes) as the test says.</summary>
public sealed class RawConnection : IDisposable
{
    readonly TcpClient client;

    public RawConnection(IPEndPoint endPoint)
    {
        client = new TcpClient { NoDelay = true };
        client.Connect(endPoint);
        Stream = client.GetStream();
    }

    public NetworkStream Stream { get; }

    public void Send(CommandFrame frame) => Stream.Write(CommandFraming.Encode(frame));

    public void SendRaw(byte[] bytes) => Stream.Write(bytes);

    /// <summary>The next frame, or null when the host closed the connection.</summary>
    public CommandFrame? Read(int timeoutMs = 5000)
    {
        using var timeout = new CancellationTokenSource(timeoutMs);
        try
        {
            return CommandFraming.ReadAsync(Stream, 64 * 1024 * 1024, timeout.Token).GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Reads frames until one of the type comes (skipping others); fails after the timeout.</summary>
    public CommandFrame ReadUntil(string type, int timeoutMs = 5000)
    {
        while (true)
        {
            var frame = Read(timeoutMs) ?? throw new InvalidOperationException($"connection closed while waiting for '{type}'");
            if (frame.Type == type) return frame;
        }
    }

    public void Dispose() => client.Dispose();
}
