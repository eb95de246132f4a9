using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;

namespace SeLoRA.Cluster.Commands;

/// <summary>Parent of the connection actors: spawns one per accepted socket and stops (never restarts) a failed one.</summary>
internal sealed class CommandHostActor : ReceiveActor
{
    public sealed record Accepted(Socket Socket);

    readonly ILoggingAdapter log = Context.GetLogger();
    long connections;

    public CommandHostActor(CommandHostSettings settings, CommandSchema schema, IReadOnlyList<ICommandPalette> palettes)
    {
        var byName = palettes.ToDictionary(p => p.Spec.Name, StringComparer.Ordinal);
        Receive<Accepted>(accepted =>
        {
            if (Context.GetChildren().Count() >= settings.MaxConnections)
            {
                log.Warning("command host: refused {0}, {1} connections already open", accepted.Socket.RemoteEndPoint, settings.MaxConnections);
                RefuseQuietly(accepted.Socket, $"too many connections ({settings.MaxConnections}); try again later");
                return;
            }
            var id = ++connections;
            Context.ActorOf(Props.Create(() => new CommandConnectionActor(accepted.Socket, settings, schema, byName)), $"connection-{id}");
        });
    }

    static void RefuseQuietly(Socket socket, string message)
    {
        try
        {
            socket.Send(CommandFraming.Encode(CommandFrame.Error(CommandErrorKind.Conflict, message)));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        finally
        {
            socket.Dispose();
        }
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
