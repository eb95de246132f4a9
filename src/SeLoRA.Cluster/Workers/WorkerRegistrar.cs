using Akka.Actor;
using Akka.Cluster;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Nodes;

namespace SeLoRA.Cluster.Workers;

/// <summary>
/// Offers this node's device workers to every coordinator in the cluster: when a member with the coordinator role comes
/// up (including this node), each worker is registered with its /user/coordinator.
/// </summary>
public sealed class WorkerRegistrar : ReceiveActor
{
    public WorkerRegistrar(IReadOnlyList<(IActorRef Worker, string Device)> workers)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Members.Where(m => m.Status == MemberStatus.Up)) Offer(member, workers);
        });
        Receive<ClusterEvent.MemberUp>(up => Offer(up.Member, workers));
        Receive<WorkerRegistered>(_ => { });
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.MemberUp));
    }

    public static Props Props(IReadOnlyList<(IActorRef Worker, string Device)> workers) => Akka.Actor.Props.Create(() => new WorkerRegistrar(workers));

    void Offer(Member member, IReadOnlyList<(IActorRef Worker, string Device)> workers)
    {
        if (!member.HasRole(NodeRoles.Coordinator)) return;
        var coordinator = Context.ActorSelection(new RootActorPath(member.Address) / "user" / NodeRoles.CoordinatorActorName);
        foreach (var (worker, device) in workers) coordinator.Tell(new RegisterWorker(worker, device));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
}
