using System.Security.Cryptography;
using System.Text;

namespace SeLoRA.Training.Engine;

/// <summary>
/// Identifies a base model folder by content: SHA-256 over every file's relative path and SHA-256 (documentation files
/// excluded), in ordinal path order. Moving or copying the folder keeps the hash; changing any weight or config changes it.
/// </summary>
public static class BaseModelHash
{
    public static string Compute(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: base model folder not found.");
        var root = Path.GetFullPath(folder);
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !f.Split('/').Any(p => p.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            using var stream = File.OpenRead(Path.Combine(root, file));
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            all.AppendData(Encoding.UTF8.GetBytes($"{file}\n{hash}\n"));
        }
        return "sha256:" + Convert.ToHexStringLower(all.GetHashAndReset());
    }
}
