namespace SeLoRA.Cluster.Transport;

/// <summary>What precedes a tensor's bytes on the data channel: which transfer, how many float32 elements, their XXH64, and who sends.</summary>
public readonly record struct TensorFrameHeader(Guid TransferId, long ElementCount, ulong Checksum, string Sender)
{
    public long PayloadBytes => ElementCount * sizeof(float);
}
