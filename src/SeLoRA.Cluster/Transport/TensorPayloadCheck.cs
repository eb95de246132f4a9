namespace SeLoRA.Cluster.Transport;

/// <summary>The XXH64 a payload's trailer announced and the one computed over the bytes that arrived.</summary>
public readonly record struct TensorPayloadCheck(ulong Announced, ulong Computed)
{
    public bool Intact => Announced == Computed;
}
