using System.Net;
using System.Net.Sockets;
using Akka.Actor;

namespace SeLoRA.Cluster.Commands;

/// <summary>A running command host: where it listens, and how to stop it (closing every connection).</summary>
public sealed class CommandHostHandle : IDisposable
{
    readonly TcpListener listener;
    readonly ActorSystem system;
    readonly IActorRef hostActor;
    readonly CancellationTokenSource stopping = new();
    readonly Task acceptLoop;
    int stopped;

    internal CommandHostHandle(ActorSystem system, TcpListener listener, IActorRef hostActor, bool requiresAuthentication)
    {
        this.system = system;
        this.listener = listener;
        this.hostActor = hostActor;
        EndPoint = (IPEndPoint)listener.LocalEndpoint;
        RequiresAuthentication = requiresAuthentication;
        acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound address; the real port when 0 was asked for.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Whether clients must answer the challenge (a secret is configured).</summary>
    public bool RequiresAuthentication { get; }

    async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            socket.NoDelay = true;
            // The host actor owns the socket from here; a stopped actor system means nobody will: close it.
            hostActor.Tell(new CommandHostActor.Accepted(socket));
        }
    }

    public void Stop()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1) return;
        stopping.Cancel();
        listener.Stop();
        try { acceptLoop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        if (system.WhenTerminated.IsCompleted) return;
        try
        {
            hostActor.GracefulStop(TimeSpan.FromSeconds(5)).Wait(TimeSpan.FromSeconds(6));
        }
        catch (Exception e) when (e is AggregateException or TaskCanceledException or AskTimeoutException) { }
        stopping.Dispose();
    }

    public void Dispose() => Stop();
}
