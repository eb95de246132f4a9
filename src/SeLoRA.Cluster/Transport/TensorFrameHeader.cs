namespace SeLoRA.Cluster.Transport;

/// <summary>What precedes a tensor's bytes on the data channel: which transfer, how many float32 elements, and who sends.</summary>
public readonly record struct TensorFrameHeader(Guid TransferId, long ElementCount, string Sender)
{
    public long PayloadBytes => ElementCount * sizeof(float);
}
