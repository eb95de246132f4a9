namespace SeLoRA.Cluster.Transport;

/// <summary>A receive waited its whole timeout; the message says what was missing (nothing at all, or how many bytes of how many).</summary>
public sealed class TensorTransferTimeoutException : TensorTransferException
{
    public TensorTransferTimeoutException(Guid transferId, string message, long bytesReceived, long bytesExpected)
        : base(transferId, message)
    {
        BytesReceived = bytesReceived;
        BytesExpected = bytesExpected;
    }

    public long BytesReceived { get; }

    /// <summary>-1 when no header arrived, so the size is unknown.</summary>
    public long BytesExpected { get; }
}
