using System.Net;
using System.Net.Sockets;
using Akka.Configuration;

namespace SeLoRA.Cluster.Commands;

/// <summary>Settings of a node's command host (selora.command-host in hocon/base.hocon).</summary>
public sealed record CommandHostSettings
{
    public const string ConfigPath = "selora.command-host";

    public bool Enabled { get; init; } = true;
    /// <summary>Address to listen on; anything but loopback requires <see cref="Secret"/>.</summary>
    public string Hostname { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 picks a free one (see <see cref="CommandHostHandle.EndPoint"/>).</summary>
    public int Port { get; init; } = 9110;
    /// <summary>Shared secret for challenge-response; null: none (then only loopback is allowed, without authentication).</summary>
    public string? Secret { get; init; }
    public int MaxFrameBytes { get; init; } = CommandFraming.DefaultMaxFrameBytes;
    /// <summary>A connection with no frame in and no running command for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How long a connection may take to authenticate.</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Connections served at once; more are refused with an error frame.</summary>
    public int MaxConnections { get; init; } = 64;
    /// <summary>Commands one connection may run at once.</summary>
    public int MaxConcurrentCommands { get; init; } = 8;
    /// <summary>Name shown in the client's banner.</summary>
    public string NodeName { get; init; } = Environment.MachineName;

    /// <summary>Reads selora.command-host (every key optional) and the secret from SELORA_CMD_SECRET or secret-file.</summary>
    public static CommandHostSettings FromConfig(Config config)
    {
        var defaults = new CommandHostSettings();
        var c = config.HasPath(ConfigPath) ? config.GetConfig(ConfigPath) : ConfigurationFactory.Empty;
        var nodeName = config.GetString("selora.node-name", "");
        return new CommandHostSettings
        {
            Enabled = c.GetBoolean("enabled", defaults.Enabled),
            Hostname = c.GetString("hostname", defaults.Hostname),
            Port = c.GetInt("port", defaults.Port),
            Secret = CommandAuthentication.ResolveSecret(c.GetString("secret-file", ""), $"{ConfigPath}.secret-file"),
            MaxFrameBytes = c.GetInt("max-frame-bytes", defaults.MaxFrameBytes),
            IdleTimeout = c.GetTimeSpan("idle-timeout", defaults.IdleTimeout),
            NodeName = string.IsNullOrWhiteSpace(nodeName) ? defaults.NodeName : nodeName,
        };
    }

    /// <summary>
    /// The address to bind, after the safety rule: a non-loopback address without a secret is refused with a
    /// <see cref="ConfigurationException"/> that names the settings to change.
    /// </summary>
    public IPAddress ResolveBindAddress()
    {
        if (MaxFrameBytes < 1024) throw new ConfigurationException($"{ConfigPath}.max-frame-bytes = {MaxFrameBytes}: at least 1024 is required.");
        if (Port is < 0 or > 65535) throw new ConfigurationException($"{ConfigPath}.port = {Port}: not a TCP port (0 picks a free one).");
        if (IdleTimeout <= TimeSpan.Zero) throw new ConfigurationException($"{ConfigPath}.idle-timeout = {IdleTimeout}: must be positive.");
        IPAddress address;
        if (string.IsNullOrWhiteSpace(Hostname) || Hostname.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(Hostname.Trim('[', ']'), out address!))
        {
            try
            {
                address = Dns.GetHostAddresses(Hostname).OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).First();
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException)
            {
                throw new ConfigurationException($"{ConfigPath}.hostname = \"{Hostname}\": cannot resolve it ({e.Message}).");
            }
        }
        if (!IPAddress.IsLoopback(address) && Secret is null)
            throw new ConfigurationException(
                $"{ConfigPath}.hostname = \"{Hostname}\" is not a loopback address: the command host can stop training and down nodes, so " +
                $"binding it elsewhere requires a shared secret. Set {ConfigPath}.secret-file or the {CommandAuthentication.SecretVariable} " +
                $"environment variable, or bind 127.0.0.1.");
        return address;
    }
}
