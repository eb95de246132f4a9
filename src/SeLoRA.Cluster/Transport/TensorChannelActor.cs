using Akka.Actor;

namespace SeLoRA.Cluster.Transport;

/// <summary>Announces this node's data channel: answers <see cref="TensorChannelQuery"/> with the endpoint.</summary>
public sealed class TensorChannelActor : ReceiveActor
{
    public const string Name = "selora-tensor-channel";

    public TensorChannelActor(TensorChannelEndpoint endpoint) =>
        Receive<TensorChannelQuery>(_ => Sender.Tell(endpoint));

    public static Props Props(TensorChannelEndpoint endpoint) => Akka.Actor.Props.Create(() => new TensorChannelActor(endpoint));
}
