using Akka.Configuration;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// Settings of a node's tensor data channel. Empty hosts follow Akka remoting's own (akka.remote.dot-netty.tcp
/// public-hostname, else hostname), so the channel is reachable wherever the node's actors are.
/// </summary>
public sealed record TensorTransportSettings
{
    public const string ConfigPath = "selora.tensor-channel";

    /// <summary>Address to listen on; empty: Akka remoting's hostname.</summary>
    public string BindHost { get; init; } = "";
    /// <summary>Host announced to peers; empty: Akka remoting's public hostname (else the bind host).</summary>
    public string PublicHost { get; init; } = "";
    /// <summary>TCP port; 0 picks a free one, which is then announced.</summary>
    public int Port { get; init; }
    /// <summary>Largest buffer accepted, in float32 elements.</summary>
    public long MaxElements { get; init; } = TensorFrame.MaxElements;
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long one blocked write or the wait for the receiver's verdict may take before the send fails.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long the endpoint query to a peer's tensor channel actor may take.</summary>
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a complete buffer nobody claimed is kept.</summary>
    public TimeSpan UnclaimedRetention { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Kernel socket buffer for the bulk direction of each connection; 0 leaves Linux's autotuning on (setting one turns it off).</summary>
    public int SocketBufferBytes { get; init; }

    /// <summary>Reads selora.tensor-channel when present (every key optional), else the defaults above.</summary>
    public static TensorTransportSettings FromConfig(Config config)
    {
        var defaults = new TensorTransportSettings();
        if (!config.HasPath(ConfigPath)) return defaults;
        var c = config.GetConfig(ConfigPath);
        return new TensorTransportSettings
        {
            BindHost = c.GetString("bind-hostname", defaults.BindHost),
            PublicHost = c.GetString("public-hostname", defaults.PublicHost),
            Port = c.GetInt("port", defaults.Port),
            MaxElements = c.GetLong("max-elements", defaults.MaxElements),
            ConnectTimeout = c.GetTimeSpan("connect-timeout", defaults.ConnectTimeout),
            AnswerTimeout = c.GetTimeSpan("answer-timeout", defaults.AnswerTimeout),
            ResolveTimeout = c.GetTimeSpan("resolve-timeout", defaults.ResolveTimeout),
            UnclaimedRetention = c.GetTimeSpan("unclaimed-retention", defaults.UnclaimedRetention),
            SocketBufferBytes = c.GetInt("socket-buffer-bytes", defaults.SocketBufferBytes),
        };
    }
}
