using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Tests.Commands;

/// <summary>An actor system for command host tests, quiet except for errors.</summary>
public sealed class CommandHostFixture : IDisposable
{
    public ActorSystem System { get; } = ActorSystem.Create("cmdtest", ConfigurationFactory.ParseString("""
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.log-dead-letters = off
        """));

    public CommandHostHandle Start(TestPalette palette, string? secret = null, int maxFrameBytes = CommandFraming.DefaultMaxFrameBytes) =>
        CommandHost.Start(System, new CommandHostSettings { Port = 0, Secret = secret, MaxFrameBytes = maxFrameBytes }, [palette]);

    public void Dispose() => System.Terminate().Wait(TimeSpan.FromSeconds(10));
}
