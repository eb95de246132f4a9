using System.Globalization;

namespace SeLoRA.Cli.CommandClient;

/// <summary>A command host's address as typed: `host:port` or `[ipv6]:port`; 127.0.0.1:9110 by default.</summary>
public sealed record CommandAddress(string Host, int Port)
{
    public static readonly CommandAddress Default = new("127.0.0.1", 9110);

    /// <summary>Whether a word is meant as an address: palette names never contain ':'.</summary>
    public static bool LooksLikeAddress(string word) => word.Contains(':');

    public static CommandAddress Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon].Trim('[', ']') : "";
        if (host.Length == 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new FormatException($"'{text}' is not a host:port address (e.g. 127.0.0.1:9110).");
        return new CommandAddress(host, port);
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
