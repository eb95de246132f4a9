using Akka.Actor;

namespace SeLoRA.Cluster.Transport;

/// <summary>Moves float32 buffers between ActorSystems, by transfer id, outside Akka's remoting connection.</summary>
public interface ITensorTransport
{
    /// <summary>This node's Akka address, as peers name it.</summary>
    Address LocalAddress { get; }

    /// <summary>
    /// Sends a buffer to the node at target. Completes once the receiver has verified element count and XXH64; throws
    /// <see cref="TensorTransferException"/> (naming the transfer, the peer and the bytes sent) on refusal or a lost connection.
    /// The memory must stay unchanged until the task completes.
    /// </summary>
    Task SendAsync(Address target, Guid transferId, ReadOnlyMemory<float> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// The buffer of a transfer sent to this node, whether it arrived before or after this call. Throws
    /// <see cref="TensorTransferTimeoutException"/> naming what is missing after timeout, or <see cref="TensorTransferException"/>
    /// when the transfer arrived corrupted or its connection broke. expectedFrom only improves the message.
    /// </summary>
    Task<float[]> ReceiveAsync(Guid transferId, TimeSpan timeout, Address? expectedFrom = null, CancellationToken cancellationToken = default);
}
