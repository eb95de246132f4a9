using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SeLoRA.Diffusion.Imaging;
using SeLoRA.Evaluation.FeatureNetworks;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Fid;

/// <summary>Feature statistics of a set of image files (PNG or JPEG) under a feature network, batched, optionally cached.</summary>
public static class ImageSetFeatures
{
    /// <summary>The file extensions read as images (case-insensitive).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg"];

    /// <summary>Images per network call unless told otherwise.</summary>
    public const int DefaultBatchSize = 16;

    /// <summary>
    /// The image files directly in <paramref name="folder"/> (not below it), sorted by ordinal name; other files are
    /// ignored. A missing folder, or one with fewer than <paramref name="minimum"/> images, is an error naming it.
    /// </summary>
    public static IReadOnlyList<string> ListImages(string folder, int minimum = 2)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"image folder {folder} does not exist");
        var files = Directory.EnumerateFiles(folder)
            .Where(IsImage)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count < minimum)
            throw new InvalidDataException(
                $"image folder {folder} holds {files.Count} image{(files.Count == 1 ? "" : "s")} ({string.Join(", ", Extensions)}); " +
                $"a Fréchet distance needs at least {minimum}");
        return files;
    }

    /// <summary>Whether <paramref name="path"/> has one of <see cref="Extensions"/>.</summary>
    public static bool IsImage(string path) =>
        Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Mean and covariance of the features of <paramref name="files"/>, read with <see cref="ImageFiles.LoadRgb"/> (grayscale
    /// files become three equal channels) and run through <paramref name="network"/> <paramref name="batchSize"/> at a time.
    /// Images of different sizes are fine: each run of equal sizes in a batch goes through the network together.
    /// </summary>
    /// <param name="progress">Reports the number of images done after each batch.</param>
    public static FeatureStatistics Compute(IFeatureNetwork network, IReadOnlyList<string> files, int batchSize = DefaultBatchSize,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (files.Count < 2)
            throw new ArgumentException($"feature statistics need at least 2 images; got {files.Count}", nameof(files));
        TorchRuntime.EnsureLoaded();
        using var accumulator = new FeatureStatisticsAccumulator();
        for (var start = 0; start < files.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // No dispose scope around Add: the accumulator moves its running moments to the enclosing scope, which would
            // then free them at the end of the batch.
            var images = new List<Tensor>();
            try
            {
                foreach (var file in files.Skip(start).Take(batchSize)) images.Add(LoadImage(file));
                foreach (var run in RunsOfEqualSize(images))
                {
                    using var batch = stack(run, 0);
                    using var features = network.Features(batch);
                    accumulator.Add(features);
                }
            }
            finally
            {
                foreach (var image in images) image.Dispose();
            }
            progress?.Report(Math.Min(files.Count, start + batchSize));
        }
        return accumulator.ToStatistics();
    }

    /// <summary>
    /// As <see cref="Compute"/>, but reads the statistics from <paramref name="cacheFolder"/> when a file for the same
    /// network, preprocessing and image contents is there (see <see cref="CacheKey"/>), and writes it there otherwise.
    /// </summary>
    /// <returns>The statistics and whether they came from the cache.</returns>
    public static (FeatureStatistics Statistics, bool FromCache) ComputeCached(IFeatureNetwork network, IReadOnlyList<string> files,
        string cacheFolder, int batchSize = DefaultBatchSize, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentException.ThrowIfNullOrEmpty(cacheFolder);
        var path = CachePath(network, files, cacheFolder);
        if (File.Exists(path))
        {
            var cached = FeatureStatistics.Load(path);
            if (cached.Dimension == network.Dimension && cached.Count == files.Count) return (cached, true);
        }
        var statistics = Compute(network, files, batchSize, progress, cancellationToken);
        Directory.CreateDirectory(cacheFolder);
        var temp = path + ".tmp";
        statistics.Save(temp);
        File.Move(temp, path, overwrite: true);
        return (statistics, false);
    }

    /// <summary>Where <see cref="ComputeCached"/> keeps the statistics: &lt;cacheFolder&gt;/&lt;network&gt;-&lt;key&gt;.stats.safetensors.</summary>
    public static string CachePath(IFeatureNetwork network, IReadOnlyList<string> files, string cacheFolder)
    {
        var slug = new string(network.Name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());
        while (slug.Contains("--", StringComparison.Ordinal)) slug = slug.Replace("--", "-", StringComparison.Ordinal);
        return Path.Combine(cacheFolder, $"{slug.Trim('-')}-{CacheKey(network, files)[..16]}.stats.safetensors");
    }

    /// <summary>
    /// SHA-256 (hex) over the network's name, dimension and preprocessing and, in order, each file's name (without its
    /// folder) and bytes: the same images under the same network give the same key wherever they are stored.
    /// </summary>
    public static string CacheKey(IFeatureNetwork network, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(files);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendText(hash, network.Name);
        AppendText(hash, network.Dimension.ToString(CultureInfo.InvariantCulture));
        AppendText(hash, network.Preprocessing);
        var buffer = new byte[1 << 16];
        foreach (var file in files)
        {
            AppendText(hash, Path.GetFileName(file));
            using var stream = File.OpenRead(file);
            AppendText(hash, stream.Length.ToString(CultureInfo.InvariantCulture));
            int read;
            while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static void AppendText(IncrementalHash hash, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        hash.AppendData(BitConverter.GetBytes(bytes.Length));
        hash.AppendData(bytes);
    }

    static Tensor LoadImage(string path)
    {
        var image = ImageFiles.LoadRgb(path);
        if (image.shape[0] == 3) return image;
        // LoadRgb decodes to RGBA, so this is only a guard should it ever hand back one channel.
        using (image) return image.expand(3, -1, -1).contiguous();
    }

    static IEnumerable<List<Tensor>> RunsOfEqualSize(List<Tensor> images)
    {
        var run = new List<Tensor>();
        foreach (var image in images)
        {
            if (run.Count > 0 && (run[0].shape[1] != image.shape[1] || run[0].shape[2] != image.shape[2]))
            {
                yield return run;
                run = [];
            }
            run.Add(image);
        }
        if (run.Count > 0) yield return run;
    }
}
