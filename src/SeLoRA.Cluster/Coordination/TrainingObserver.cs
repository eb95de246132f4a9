using Akka.Actor;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Coordination;

/// <summary>Relays a coordinator's training events to a callback and completes when the run's session ends.</summary>
public sealed class TrainingObserver : ReceiveActor
{
    public TrainingObserver(Action<TrainingEvent> observe, TaskCompletionSource<TrainingFinished> finished)
    {
        Receive<TrainingEventOccurred>(m => observe(m.Event));
        Receive<TrainingFinished>(m => finished.TrySetResult(m));
    }

    public static Props Props(Action<TrainingEvent> observe, TaskCompletionSource<TrainingFinished> finished) =>
        Akka.Actor.Props.Create(() => new TrainingObserver(observe, finished));
}
