using System.Buffers.Binary;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using SeLoRA.Cluster.Transport;

namespace SeLoRA.Cluster.Serialization;

/// <summary>
/// Binary serializer of the tensor transport's control messages (never JSON). The bulk bytes travel on the data channel;
/// these messages are a few bytes, far below akka.remote's maximum-frame-size.
/// </summary>
public sealed class TensorMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 5417;
    const string QueryManifest = "TQ";
    const string EndpointManifest = "TE";

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o switch
    {
        TensorChannelQuery => QueryManifest,
        TensorChannelEndpoint => EndpointManifest,
        _ => throw new ArgumentException($"{nameof(TensorMessageSerializer)} cannot serialize {o.GetType()}."),
    };

    public override byte[] ToBinary(object obj)
    {
        switch (obj)
        {
            case TensorChannelQuery:
                return [];
            case TensorChannelEndpoint endpoint:
                var host = Encoding.UTF8.GetBytes(endpoint.Host);
                var bytes = new byte[8 + host.Length];
                BinaryPrimitives.WriteInt32LittleEndian(bytes, endpoint.Port);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), host.Length);
                host.CopyTo(bytes, 8);
                return bytes;
            default:
                throw new ArgumentException($"{nameof(TensorMessageSerializer)} cannot serialize {obj.GetType()}.");
        }
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        switch (manifest)
        {
            case QueryManifest:
                return TensorChannelQuery.Instance;
            case EndpointManifest:
                if (bytes.Length < 8) throw new System.Runtime.Serialization.SerializationException($"tensor channel endpoint: {bytes.Length} bytes, at least 8 expected.");
                var port = BinaryPrimitives.ReadInt32LittleEndian(bytes);
                var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
                if (length != bytes.Length - 8) throw new System.Runtime.Serialization.SerializationException($"tensor channel endpoint: host of {length} bytes in a {bytes.Length}-byte message.");
                return new TensorChannelEndpoint(Encoding.UTF8.GetString(bytes, 8, length), port);
            default:
                throw new System.Runtime.Serialization.SerializationException($"{nameof(TensorMessageSerializer)}: unknown manifest \"{manifest}\".");
        }
    }
}
