using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Palettes;

/// <summary>The `cluster` palette, as Akka.NET operators know it from pbm: membership, leadership, joining, leaving, downing.</summary>
public sealed class ClusterPalette(ActorSystem system) : ICommandPalette
{
    static readonly CommandArgumentSpec Address = new("address", "a", "A member address, e.g. akka.tcp://selora@127.0.0.1:4053.");

    public PaletteSpec Spec { get; } = new("cluster", "Cluster membership: show, status, leader, join, leave, down, tail.",
    [
        new("show", "One line per member: address | [roles] | status | reachability | version; then the count.", []),
        new("status", "This node's own membership status.", []),
        new("leader", "The current leader's address.", []),
        new("join", "Join this node to the cluster at the given address.", [Address with { Mandatory = true }]),
        new("leave", "Make a member (this node by default) leave gracefully.", [Address]),
        new("down", "Mark a member as down (it is removed).", [Address with { Mandatory = true }]),
        new("down-unreachable", "Down every unreachable member.", []),
        new("tail", "Stream membership events until cancelled.", []),
    ]);

    Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(system);

    public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var cluster = Cluster;
        switch (invocation.Command)
        {
            case "show":
            {
                var state = cluster.State;
                var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
                foreach (var m in members)
                    yield return $"{m.Address} | [{string.Join(", ", m.Roles.Order(StringComparer.Ordinal))}] | {m.Status} | " +
                                 $"{(state.Unreachable.Contains(m) ? "Unreachable" : "Reachable")} | {m.AppVersion}";
                yield return $"Count: {members.Count} nodes";
                break;
            }
            case "status":
                yield return $"{cluster.SelfAddress} | {cluster.SelfMember.Status}";
                break;
            case "leader":
                yield return cluster.State.Leader?.ToString() ?? throw new CommandException(CommandErrorKind.NotFound, "the cluster has no leader yet.");
                break;
            case "join":
            {
                var address = Parse(invocation.Get("address")!);
                cluster.Join(address);
                yield return $"joining {address}";
                break;
            }
            case "leave":
            {
                var address = invocation.Get("address") is { } text ? Parse(text) : cluster.SelfAddress;
                Member(address);
                cluster.Leave(address); // graceful: the member hands its work over, then is removed
                yield return $"{address} is leaving";
                break;
            }
            case "down":
            {
                var address = Parse(invocation.Get("address")!);
                Member(address);
                cluster.Down(address);
                yield return $"{address} downed";
                break;
            }
            case "down-unreachable":
            {
                var unreachable = cluster.State.Unreachable.ToList();
                foreach (var m in unreachable)
                {
                    cluster.Down(m.Address);
                    yield return $"{m.Address} downed";
                }
                yield return $"Downed: {unreachable.Count} nodes";
                break;
            }
            case "tail":
            {
                var channel = Channel.CreateUnbounded<string>();
                var listener = system.ActorOf(Props.Create(() => new MembershipListener(channel.Writer)));
                try
                {
                    await foreach (var line in channel.Reader.ReadAllAsync(cancellation).ConfigureAwait(false)) yield return line;
                }
                finally
                {
                    system.Stop(listener);
                }
                break;
            }
            default:
                throw new CommandException(CommandErrorKind.UnknownCommand, $"cluster has no command '{invocation.Command}'.");
        }
    }

    Member Member(Address address) => Cluster.State.Members.FirstOrDefault(m => m.Address.Equals(address))
        ?? throw new CommandException(CommandErrorKind.NotFound, $"{address} is not a member; `cluster show` lists them.");

    static Address Parse(string text)
    {
        try
        {
            return Akka.Actor.Address.Parse(text);
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            throw new CommandException(CommandErrorKind.BadArguments, $"--address {text}: not an address such as akka.tcp://selora@127.0.0.1:4053.");
        }
    }

    /// <summary>Writes membership events as lines until stopped.</summary>
    sealed class MembershipListener : ReceiveActor
    {
        public MembershipListener(ChannelWriter<string> writer)
        {
            Receive<ClusterEvent.CurrentClusterState>(s => writer.TryWrite($"members: {string.Join(", ", s.Members.Select(m => $"{m.Address} ({m.Status})"))}"));
            Receive<ClusterEvent.IMemberEvent>(e => writer.TryWrite($"{DateTime.UtcNow:HH:mm:ss} {e.GetType().Name.Replace("Member", "member ")}: {e.Member.Address} [{string.Join(", ", e.Member.Roles)}] {e.Member.Status}"));
            Receive<ClusterEvent.UnreachableMember>(e => writer.TryWrite($"{DateTime.UtcNow:HH:mm:ss} unreachable: {e.Member.Address}"));
            Receive<ClusterEvent.ReachableMember>(e => writer.TryWrite($"{DateTime.UtcNow:HH:mm:ss} reachable again: {e.Member.Address}"));
            Receive<ClusterEvent.LeaderChanged>(e => writer.TryWrite($"{DateTime.UtcNow:HH:mm:ss} leader: {e.Leader}"));
        }

        protected override void PreStart() => Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));

        protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
