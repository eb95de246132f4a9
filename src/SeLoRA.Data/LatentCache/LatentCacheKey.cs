using System.Security.Cryptography;
using System.Text;
using SeLoRA.Data.Preprocessing;
using SeLoRA.Diffusion.Models.Vae;
using static TorchSharp.torch;

namespace SeLoRA.Data.LatentCache;

/// <summary>
/// What a latent cache was computed from. Images are identified by content (SHA-256 of the bytes) plus relative path and
/// size, not by mtime: mtime changes on every copy/checkout (needless rebuilds) and survives in-place edits with preserved
/// timestamps (rsync -t, tar, coarse file-system clocks), which would make a stale cache look valid. Hashing reads the data
/// once per run, far cheaper than the VAE encode it protects.
/// </summary>
/// <param name="DatasetHash">SHA-256 over (relative path, size, content hash) of every image, in order.</param>
/// <param name="VaeHash">SHA-256 over the VAE state_dict (names, dtypes, shapes and bytes, by name).</param>
/// <param name="SettingsHash">The preprocessing settings' <see cref="PreprocessSettings.Hash"/>.</param>
public sealed record LatentCacheKey(string DatasetHash, string VaeHash, string SettingsHash)
{
    /// <summary>Bump when the cache file layout or the encode procedure changes.</summary>
    public const int FormatVersion = 1;

    /// <summary>The folder name: SHA-256 of the three hashes and the format version, lower-case hex.</summary>
    public string Value => Sha256Hex($"latent-cache/v{FormatVersion}\n{DatasetHash}\n{VaeHash}\n{SettingsHash}\n");

    public static LatentCacheKey Compute(IReadOnlyList<string> imagePaths, AutoencoderKl vae, PreprocessSettings settings, string? datasetRoot = null) =>
        new(HashDataset(imagePaths, datasetRoot), HashVae(vae), settings.Hash);

    /// <summary>Paths are recorded relative to <paramref name="datasetRoot"/> when given, so a moved data set keeps its cache.</summary>
    public static string HashDataset(IReadOnlyList<string> imagePaths, string? datasetRoot = null)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in imagePaths)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image listed in the data set is missing.", path);
            var name = datasetRoot is null ? Path.GetFullPath(path) : Path.GetRelativePath(datasetRoot, path);
            name = name.Replace('\\', '/');
            string content;
            long size;
            using (var stream = File.OpenRead(path))
            {
                size = stream.Length;
                content = Convert.ToHexStringLower(SHA256.HashData(stream));
            }
            all.AppendData(Encoding.UTF8.GetBytes($"{name}\0{size}\0{content}\n"));
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }

    public static string HashVae(AutoencoderKl vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, value) in vae.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            all.AppendData(Encoding.UTF8.GetBytes($"{name}\0{value.dtype}\0{string.Join(",", value.shape)}\0"));
            using var cpu = value.detach().cpu().contiguous();
            all.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }

    static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
