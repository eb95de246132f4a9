using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Cluster.Serialization;
using SeLoRA.Cluster.Transport;

namespace SeLoRA.Cluster.Tests.Transport;

/// <summary>Two ActorSystems joined by Akka.Remote over 127.0.0.1 (ephemeral ports), each with its tensor transport and an echo actor.</summary>
public sealed class LoopbackPair : IAsyncLifetime
{
    public ActorSystem SystemA { get; private set; } = null!;
    public ActorSystem SystemB { get; private set; } = null!;
    public TensorTransport A { get; private set; } = null!;
    public TensorTransport B { get; private set; } = null!;
    /// <summary>B's echo actor as seen from A, over the remoting connection.</summary>
    public IActorRef EchoOnB { get; private set; } = null!;

    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        selora.tensor-channel { resolve-timeout = 1s }
        """).WithFallback(TensorSerialization.SerializationConfig);

    public async ValueTask InitializeAsync()
    {
        SystemA = ActorSystem.Create("selora", Config);
        SystemB = ActorSystem.Create("selora", Config);
        A = TensorTransport.Get(SystemA);
        B = TensorTransport.Get(SystemB);
        SystemB.ActorOf(Props.Create(() => new Echo()), "echo");
        EchoOnB = await SystemA.ActorSelection(new RootActorPath(B.LocalAddress) / "user" / "echo").ResolveOne(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(SystemA.Terminate(), SystemB.Terminate());
    }

    sealed class Echo : ReceiveActor
    {
        public Echo() => Receive<string>(message => Sender.Tell(message));
    }
}
