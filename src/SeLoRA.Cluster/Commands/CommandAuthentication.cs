using System.Security.Cryptography;
using System.Text;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// Challenge-response over a shared secret; the secret never crosses the wire. The server sends a random nonce in hello;
/// the client answers with its own nonce and HMAC-SHA256(secret, "selora-cmd/1 client" | server nonce | client nonce);
/// the server answers auth-ok with HMAC-SHA256(secret, "selora-cmd/1 server" | client nonce | server nonce), so the
/// client knows the server holds the secret too. Different labels keep one side's answer from being replayed as the other's.
/// </summary>
public static class CommandAuthentication
{
    public const string SecretVariable = "SELORA_CMD_SECRET";
    public const string Scheme = "hmac-sha256";
    public const string NoAuthentication = "none";
    /// <summary>Shorter secrets are refused: a guessable secret on a port that can stop training is no protection.</summary>
    public const int MinimumSecretLength = 16;

    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static string ClientMac(string secret, string serverNonce, string clientNonce) =>
        Mac(secret, $"selora-cmd/1 client|{serverNonce}|{clientNonce}");

    public static string ServerProof(string secret, string serverNonce, string clientNonce) =>
        Mac(secret, $"selora-cmd/1 server|{clientNonce}|{serverNonce}");

    /// <summary>Constant-time comparison of two base64 MACs; false for anything malformed.</summary>
    public static bool Matches(string expected, string? given)
    {
        if (given is null) return false;
        var a = Encoding.ASCII.GetBytes(expected);
        var b = Encoding.ASCII.GetBytes(given);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>
    /// The secret: the SELORA_CMD_SECRET environment variable when set, else the file's content (trimmed) when a file is
    /// named, else null. Throws <see cref="Akka.Configuration.ConfigurationException"/> naming <paramref name="setting"/>
    /// when the file is missing or a secret is too short.
    /// </summary>
    public static string? ResolveSecret(string? secretFile, string setting)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(SecretVariable);
        string? secret = null;
        string source = "";
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            secret = fromEnvironment.Trim();
            source = $"the {SecretVariable} environment variable";
        }
        else if (!string.IsNullOrWhiteSpace(secretFile))
        {
            var path = Path.GetFullPath(secretFile);
            if (!File.Exists(path))
                throw new Akka.Configuration.ConfigurationException($"{setting} = \"{secretFile}\": the file {path} does not exist.");
            secret = File.ReadAllText(path).Trim();
            source = $"{setting} ({path})";
        }
        if (secret is null) return null;
        if (secret.Length < MinimumSecretLength)
            throw new Akka.Configuration.ConfigurationException(
                $"the command secret from {source} has {secret.Length} characters; at least {MinimumSecretLength} are required.");
        return secret;
    }

    static string Mac(string secret, string message) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(message)));
}
