using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// The pbm-style command host of a node: a TCP endpoint (127.0.0.1:9110 by default) that serves the registered palettes
/// and the built-in `host` palette. A socket accept loop hands each client to its own connection actor, a child of the
/// host actor, which stops (never restarts) it on failure, so a bad client never takes the host down.
/// </summary>
public static class CommandHost
{
    /// <summary>
    /// Starts the host. Throws <see cref="ConfigurationException"/> when the settings are unsafe or invalid (a non-loopback
    /// address without a secret names the setting), <see cref="ArgumentException"/> for a bad palette spec and
    /// <see cref="IOException"/> when the port cannot be bound. It does not look at <see cref="CommandHostSettings.Enabled"/>:
    /// the caller (the node) decides whether to start it. Stop it with the handle, or by terminating the actor system.
    /// </summary>
    public static CommandHostHandle Start(ActorSystem system, CommandHostSettings settings, IEnumerable<ICommandPalette> palettes)
    {
        var address = settings.ResolveBindAddress();
        var registered = new List<ICommandPalette>();
        CommandSchema? schema = null;
        registered.Add(new HostPalette(() => schema!.Palettes));
        foreach (var palette in palettes)
        {
            CommandSchema.Validate(palette.Spec);
            registered.Add(palette);
        }
        schema = new CommandSchema(registered.Select(p => p.Spec));

        var listener = new TcpListener(address, settings.Port);
        try
        {
            listener.Start(backlog: 32);
        }
        catch (SocketException e)
        {
            throw new IOException($"command host: cannot listen on {address}:{settings.Port} ({CommandHostSettings.ConfigPath}.hostname/port): {e.Message}", e);
        }
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var actor = system.ActorOf(Props.Create(() => new CommandHostActor(settings, schema, registered)), $"command-host-{port}");
        var handle = new CommandHostHandle(system, listener, actor, settings.Secret is not null);
        system.WhenTerminated.ContinueWith(_ => handle.Stop(), TaskScheduler.Default);
        return handle;
    }
}
