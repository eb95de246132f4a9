using Akka.Configuration;
using Akka.Hosting;
using SeLoRA.Cluster.Transport;

namespace SeLoRA.Cluster.Serialization;

/// <summary>HOCON that binds the tensor transport's messages to their binary serializer, and the Akka.Hosting wiring.</summary>
public static class TensorSerialization
{
    public static Config SerializationConfig { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers {
            selora-tensor = "{{typeof(TensorMessageSerializer).AssemblyQualifiedName}}"
          }
          serialization-bindings {
            "{{typeof(TensorChannelQuery).AssemblyQualifiedName}}" = selora-tensor
            "{{typeof(TensorChannelEndpoint).AssemblyQualifiedName}}" = selora-tensor
          }
          serialization-identifiers {
            "{{typeof(TensorMessageSerializer).AssemblyQualifiedName}}" = {{TensorMessageSerializer.SerializerId}}
          }
        }
        """);

    /// <summary>Registers the serializer bindings (HOCON appended, so the node's own layers still win).</summary>
    public static AkkaConfigurationBuilder AddTensorSerialization(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(SerializationConfig, HoconAddMode.Append);

    /// <summary>Serializer bindings plus the node's tensor transport, started with the ActorSystem.</summary>
    public static AkkaConfigurationBuilder AddTensorTransport(this AkkaConfigurationBuilder builder, TensorTransportSettings? settings = null) =>
        builder.AddTensorSerialization().AddStartup((system, _) => TensorTransport.Start(system, settings));
}
