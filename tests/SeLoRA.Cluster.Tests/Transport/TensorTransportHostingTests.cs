using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SeLoRA.Cluster.Serialization;
using SeLoRA.Cluster.Transport;

namespace SeLoRA.Cluster.Tests.Transport;

public sealed class TensorTransportHostingTests
{
    [Fact]
    public async Task AddTensorTransport_starts_the_channel_with_the_system_and_binds_the_binary_serializer()
    {
        var cancel = TestContext.Current.CancellationToken;
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAkka("selora", (akka, _) => akka
            .AddHocon(ConfigurationFactory.ParseString("""
                akka.loglevel = WARNING
                akka.actor.provider = remote
                akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
                """), HoconAddMode.Prepend)
            .AddTensorTransport(new TensorTransportSettings { Port = 0, ResolveTimeout = TimeSpan.FromSeconds(3) }));
        using var host = builder.Build();
        await host.StartAsync(cancel);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var transport = TensorTransport.Get(system);
            Assert.Equal("127.0.0.1", transport.Endpoint.Host);
            Assert.True(transport.Endpoint.Port > 0);
            Assert.IsType<TensorMessageSerializer>(system.Serialization.FindSerializerFor(transport.Endpoint));

            // The announcement actor answers over the actor path peers use.
            var answer = await system.ActorSelection(new RootActorPath(transport.LocalAddress) / "system" / TensorChannelActor.Name)
                .Ask<TensorChannelEndpoint>(TensorChannelQuery.Instance, TimeSpan.FromSeconds(5), cancel);
            Assert.Equal(transport.Endpoint, answer);
        }
        finally
        {
            await host.StopAsync(cancel);
        }
    }
}
