namespace SeLoRA.Cluster.Transport;

/// <summary>A tensor transfer failed or was refused; the message names the transfer, the peer and how far it got.</summary>
public class TensorTransferException : IOException
{
    public TensorTransferException(Guid transferId, string message, Exception? inner = null) : base(message, inner) =>
        TransferId = transferId;

    public Guid TransferId { get; }
}
