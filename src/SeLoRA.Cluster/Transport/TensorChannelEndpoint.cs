namespace SeLoRA.Cluster.Transport;

/// <summary>Where a node's tensor channel listens; the answer to <see cref="TensorChannelQuery"/>.</summary>
public sealed record TensorChannelEndpoint(string Host, int Port)
{
    public override string ToString() => $"{Host}:{Port}";
}
