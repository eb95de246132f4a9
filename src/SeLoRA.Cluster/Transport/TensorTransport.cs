using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Event;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// A node's tensor transport: a dedicated TCP data channel (length-prefixed frames, XXH64 verified on arrival) whose
/// endpoint is announced by an actor at /system/selora-tensor-channel. Akka messages only ever carry ids and sizes;
/// the bytes never share the remoting connection, so heartbeats and gossip keep their latency during big transfers.
/// One per ActorSystem: <see cref="Get"/> / <see cref="Start"/>; it closes when the system terminates.
/// </summary>
public sealed class TensorTransport : ITensorTransport, IDisposable
{
    static readonly ConditionalWeakTable<ActorSystem, TensorTransport> Started = new();

    readonly ExtendedActorSystem system;
    readonly TensorTransportSettings settings;
    readonly TensorChannelServer server;
    readonly TensorChannelClient client;
    readonly ConcurrentDictionary<Address, Task<TensorChannelEndpoint>> peers = new();
    readonly IActorRef announcer;
    int disposed;

    TensorTransport(ExtendedActorSystem system, TensorTransportSettings settings)
    {
        this.system = system;
        this.settings = settings;
        LocalAddress = system.Provider.DefaultAddress;
        var akkaConfig = system.Settings.Config;
        var bindHost = First(settings.BindHost, akkaConfig.GetString("akka.remote.dot-netty.tcp.hostname", ""), "0.0.0.0");
        Inbox = new TensorInbox(settings.UnclaimedRetention);
        server = new TensorChannelServer(ResolveBindAddress(bindHost), settings.Port, Inbox, settings.MaxElements,
            settings.SocketBufferBytes, message => system.Log.Warning(message));
        var publicHost = First(settings.PublicHost, LocalAddress.Host ?? "",
            bindHost is "0.0.0.0" or "::" ? Dns.GetHostName() : bindHost);
        Endpoint = new TensorChannelEndpoint(publicHost, server.EndPoint.Port);
        client = new TensorChannelClient(settings.ConnectTimeout, settings.AnswerTimeout, settings.SocketBufferBytes);
        announcer = system.SystemActorOf(TensorChannelActor.Props(Endpoint), TensorChannelActor.Name);
        system.RegisterOnTermination(Dispose);
        system.Log.Info("Tensor channel listening on {0}, announced as {1}", server.EndPoint, Endpoint);
    }

    /// <summary>The transport of a system, started on first use with settings from selora.tensor-channel (or defaults).</summary>
    public static TensorTransport Get(ActorSystem system) => Start(system, null);

    /// <summary>Starts the transport of a system with explicit settings; a system that has one already keeps it.</summary>
    public static TensorTransport Start(ActorSystem system, TensorTransportSettings? settings)
    {
        lock (Started)
        {
            if (Started.TryGetValue(system, out var existing)) return existing;
            var transport = new TensorTransport((ExtendedActorSystem)system, settings ?? TensorTransportSettings.FromConfig(system.Settings.Config));
            Started.Add(system, transport);
            return transport;
        }
    }

    public Address LocalAddress { get; }

    /// <summary>Where this node's data channel is reachable, as announced to peers.</summary>
    public TensorChannelEndpoint Endpoint { get; }

    public TensorInbox Inbox { get; }

    public async Task SendAsync(Address target, Guid transferId, ReadOnlyMemory<float> data, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var sender = LocalAddress.ToString();
        if (target.Equals(LocalAddress))
        {
            if (!Inbox.DeliverLocal(transferId, data.ToArray(), sender))
                throw new TensorTransferException(transferId, $"transfer {transferId}: refused by {target} (this node): a transfer with this id is already arriving or waiting.");
            return;
        }
        for (var attempt = 0; ; attempt++)
        {
            var endpoint = await ResolveAsync(target, transferId, cancellationToken).ConfigureAwait(false);
            try
            {
                await client.SendAsync(endpoint, transferId, data, sender, target.ToString(), cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TensorTransferException e) when (attempt == 0 && e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                // The node may have restarted its channel on another port: ask again once.
                peers.TryRemove(target, out _);
                client.Forget(endpoint);
            }
        }
    }

    public Task<float[]> ReceiveAsync(Guid transferId, TimeSpan timeout, Address? expectedFrom = null, CancellationToken cancellationToken = default) =>
        Inbox.ReceiveAsync(transferId, timeout, expectedFrom?.ToString(), cancellationToken);

    async Task<TensorChannelEndpoint> ResolveAsync(Address target, Guid transferId, CancellationToken cancellationToken)
    {
        var query = peers.GetOrAdd(target, Query);
        try
        {
            return await query.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            peers.TryRemove(KeyValuePair.Create(target, query));
            throw new TensorTransferException(transferId,
                $"transfer {transferId}: no tensor channel answered at {target}/system/{TensorChannelActor.Name} within " +
                $"{settings.ResolveTimeout.TotalSeconds:0.#} s; is the tensor transport started on that node (AddTensorTransport)?", e);
        }
    }

    Task<TensorChannelEndpoint> Query(Address target) =>
        system.ActorSelection(new RootActorPath(target) / "system" / TensorChannelActor.Name)
            .Ask<TensorChannelEndpoint>(TensorChannelQuery.Instance, settings.ResolveTimeout);

    static string First(params string[] candidates) => candidates.First(c => !string.IsNullOrWhiteSpace(c));

    static IPAddress ResolveBindAddress(string host)
    {
        if (IPAddress.TryParse(host, out var address)) return address;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new IOException($"tensor channel: bind host \"{host}\" resolves to no address.");
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        client.Dispose();
        server.Dispose();
        if (!system.WhenTerminated.IsCompleted) system.Stop(announcer);
    }
}
