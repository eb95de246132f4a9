namespace SeLoRA.Cluster.Transport;

/// <summary>Asks a node's tensor channel actor where its data channel listens.</summary>
public sealed record TensorChannelQuery
{
    public static readonly TensorChannelQuery Instance = new();
}
