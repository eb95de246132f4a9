namespace SeLoRA.Adapters.Reporting;

/// <summary>The role of an adapted linear layer, the rows of the paper's Figure 3.</summary>
public enum LayerKind
{
    /// <summary>Attention query: <c>to_q</c>, <c>q_proj</c>.</summary>
    Q,

    /// <summary>Attention key: <c>to_k</c>, <c>k_proj</c>.</summary>
    K,

    /// <summary>Attention value: <c>to_v</c>, <c>v_proj</c>.</summary>
    V,

    /// <summary>Attention output projection: <c>to_out.0</c>, <c>out_proj</c>.</summary>
    Out,

    /// <summary>Feed-forward: <c>ff.net.0.proj</c>, <c>ff.net.2</c>, <c>mlp.fc1</c>, <c>mlp.fc2</c>.</summary>
    FF,

    /// <summary>ResNet time-embedding projection: <c>time_emb_proj</c>.</summary>
    Time,

    /// <summary>Any other linear layer.</summary>
    Other,
}
