using Akka.Actor;
using SeLoRA.Cluster.Coordination;

namespace SeLoRA.Cluster.Workers;

/// <summary>
/// Offers this node's device workers (and evaluators) to the cluster's coordinator (a cluster singleton, reached through its proxy) every
/// few seconds: a coordinator that starts after another one's node was lost learns the workers within one period, and
/// offering twice is harmless.
/// </summary>
public sealed class WorkerRegistrar : ReceiveActor, IWithTimers
{
    sealed record Offer;

    public ITimerScheduler Timers { get; set; } = null!;

    public WorkerRegistrar(IActorRef coordinator, IReadOnlyList<(IActorRef Worker, string Device)> workers, TimeSpan period, IReadOnlyList<IActorRef>? evaluators = null)
    {
        Receive<Offer>(_ =>
        {
            foreach (var (worker, device) in workers) coordinator.Tell(new RegisterWorker(worker, device));
            foreach (var evaluator in evaluators ?? []) coordinator.Tell(new SeLoRA.Cluster.Evaluators.RegisterEvaluator(evaluator));
        });
        Receive<WorkerRegistered>(_ => { });
        Receive<SeLoRA.Cluster.Evaluators.EvaluatorRegistered>(_ => { });
        Self.Tell(new Offer());
        Timers.StartPeriodicTimer("offer", new Offer(), period);
    }

    public static Props Props(IActorRef coordinator, IReadOnlyList<(IActorRef Worker, string Device)> workers, TimeSpan period,
        IReadOnlyList<IActorRef>? evaluators = null) =>
        Akka.Actor.Props.Create(() => new WorkerRegistrar(coordinator, workers, period, evaluators));
}
