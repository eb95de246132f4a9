using SeLoRA.Torch.Randomness;
using System.Text.Json;
using System.Text.Json.Serialization;
using SeLoRA.Data.Preprocessing;
using SeLoRA.Data.Sampling;
using SeLoRA.Diffusion.Models.Vae;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.LatentCache;

/// <summary>
/// VAE posteriors (mean and log-variance, float32) of every preprocessed image, computed once with the frozen VAE and
/// reused across epochs and runs. Layout: &lt;root&gt;/&lt;key&gt;/NNNNNN.safetensors per image (tensors "mean" and "logvar",
/// [latent channels, h, w]) and manifest.json, written last. A folder is trusted only when its manifest exists and names
/// its key; every file is written to a temp name and renamed, so a crash leaves either no file or a complete one, and a
/// rebuild deletes temp leftovers, keeps complete entries and encodes the rest. A different key is a different folder,
/// so stale latents are never mixed with new ones.
/// </summary>
public sealed class LatentStore
{
    public const string ManifestFile = "manifest.json";
    const string MeanKey = "mean";
    const string LogVarKey = "logvar";

    readonly HashSet<int> skipped;

    LatentStore(string directory, LatentCacheKey key, IReadOnlyList<string> paths, double scalingFactor, IReadOnlyList<SkippedImage> skippedImages, bool reused, int encoded)
    {
        Directory = directory;
        Key = key;
        ImagePaths = paths;
        ScalingFactor = scalingFactor;
        SkippedImages = skippedImages;
        skipped = skippedImages.Select(s => s.Index).ToHashSet();
        Reused = reused;
        EncodedCount = encoded;
    }

    public string Directory { get; }
    public LatentCacheKey Key { get; }
    public IReadOnlyList<string> ImagePaths { get; }
    public int Count => ImagePaths.Count;
    /// <summary>The VAE's scaling_factor (0.18215 for SD1.5), applied when sampling.</summary>
    public double ScalingFactor { get; }
    /// <summary>Images that could not be read; they have no latents and <see cref="ValidIndices"/> leaves them out.</summary>
    public IReadOnlyList<SkippedImage> SkippedImages { get; }
    /// <summary>True when a complete cache was found and nothing was encoded.</summary>
    public bool Reused { get; }
    /// <summary>Images encoded by this call (0 when reused).</summary>
    public int EncodedCount { get; }

    public IEnumerable<int> ValidIndices => Enumerable.Range(0, Count).Where(i => !skipped.Contains(i));

    public string EntryPath(int index) => Path.Combine(Directory, $"{index:D6}.safetensors");

    /// <summary>
    /// Opens the cache for these inputs under <paramref name="cacheRoot"/>, encoding what is missing. The VAE is used
    /// frozen (no_grad) on its own device and dtype; latents are stored as float32 on disk.
    /// </summary>
    public static LatentStore OpenOrBuild(string cacheRoot, IReadOnlyList<string> imagePaths, AutoencoderKl vae, PreprocessSettings settings, LatentCacheOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheRoot);
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(settings);
        options ??= LatentCacheOptions.Default;
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "latent cache batch size must be at least 1");
        settings.Validate();
        if (!settings.IsDeterministic)
            throw new ArgumentException(
                $"a latent cache needs deterministic preprocessing (centre crop, no random flip); got {settings.CanonicalString}. " +
                "Cached latents would freeze one random crop/flip for every epoch.", nameof(settings));
        TorchRuntime.EnsureLoaded();

        var paths = imagePaths.ToArray();
        var key = LatentCacheKey.Compute(paths, vae, settings, options.DatasetRoot);
        var directory = Path.Combine(Path.GetFullPath(cacheRoot), key.Value);
        var manifest = TryReadManifest(directory, key, paths.Length);
        if (manifest is not null)
            return new LatentStore(directory, key, paths, vae.Config.ScalingFactor, manifest.Skipped, reused: true, encoded: 0);

        System.IO.Directory.CreateDirectory(directory);
        foreach (var temp in System.IO.Directory.EnumerateFiles(directory, "*.tmp"))
            File.Delete(temp);
        File.Delete(Path.Combine(directory, ManifestFile));

        var store = new LatentStore(directory, key, paths, vae.Config.ScalingFactor, [], reused: false, encoded: 0);
        var missing = Enumerable.Range(0, paths.Length).Where(i => !store.EntryIsComplete(i)).ToList();
        var skippedImages = new List<SkippedImage>();
        int encoded = store.Encode(missing, vae, settings, options, skippedImages);

        var written = new Manifest(LatentCacheKey.FormatVersion, key.Value, key.DatasetHash, key.VaeHash, key.SettingsHash,
            settings.CanonicalString, paths.Length, vae.Config.ScalingFactor, skippedImages);
        var manifestPath = Path.Combine(directory, ManifestFile);
        var tempPath = Path.Combine(directory, $".{ManifestFile}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(tempPath, JsonSerializer.Serialize(written, JsonOptions));
        File.Move(tempPath, manifestPath, overwrite: true);
        return new LatentStore(directory, key, paths, vae.Config.ScalingFactor, skippedImages, reused: false, encoded);
    }

    /// <summary>The stored posterior of image <paramref name="index"/>: mean and log-variance, float32 [C, h, w]. The caller disposes both.</summary>
    public (Tensor Mean, Tensor LogVar) Read(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the cache holds {Count} images");
        if (skipped.Contains(index))
            throw new InvalidOperationException($"image {index} ({ImagePaths[index]}) was skipped when the cache was built: {SkippedImages.First(s => s.Index == index).Reason}");
        var path = EntryPath(index);
        var tensors = SafetensorsFile.Load(path);
        if (!tensors.TryGetValue(MeanKey, out var mean) || !tensors.TryGetValue(LogVarKey, out var logVar) || !mean.shape.SequenceEqual(logVar.shape))
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"{path}: a latent cache entry needs tensors '{MeanKey}' and '{LogVarKey}' of one shape.");
        }
        return (mean, logVar);
    }

    /// <summary>
    /// A training latent, as diffusers' vae.encode(x).latent_dist.sample() * scaling_factor:
    /// (mean + exp(logvar / 2) * noise) * scaling_factor, noise ~ N(0, I) drawn from <paramref name="noise"/>.
    /// </summary>
    public Tensor SampleLatent(int index, Generator noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        var (mean, logVar) = Read(index);
        using (mean)
        using (logVar)
        using (var scope = NewDisposeScope())
        {
            var eps = randn(mean.shape, dtype: float32, generator: noise);
            var latent = mean.add(logVar.mul(0.5).exp().mul(eps)).mul(ScalingFactor);
            return scope.MoveToOuter(latent);
        }
    }

    /// <summary>
    /// Latents [B, C, h, w] for dataset indices, each with noise from its own generator seeded by
    /// <see cref="NoiseSeed"/>(seed, step, index), so a sample's latent does not depend on how batches are split across workers.
    /// </summary>
    public Tensor SampleBatch(IReadOnlyList<int> indices, long seed, long step)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) throw new ArgumentException("a batch needs at least one index", nameof(indices));
        using var scope = NewDisposeScope();
        var latents = new List<Tensor>(indices.Count);
        foreach (var index in indices)
        {
            using var generator = new Generator(NoiseSeed(seed, step, index));
            latents.Add(SampleLatent(index, generator));
        }
        return scope.MoveToOuter(stack(latents));
    }

    /// <summary>The noise seed of one sample at one step: SplitMix64.Derive(seed, step, sampleIndex).</summary>
    public static ulong NoiseSeed(long seed, long step, long sampleIndex) => SplitMix64.Derive(seed, step, sampleIndex);

    bool EntryIsComplete(int index)
    {
        var path = EntryPath(index);
        if (!File.Exists(path)) return false;
        try
        {
            var header = SafetensorsFile.ReadHeader(path);
            var mean = header.Find(MeanKey);
            var logVar = header.Find(LogVarKey);
            return mean is not null && logVar is not null && mean.DType == ScalarType.Float32 && logVar.DType == ScalarType.Float32
                   && mean.Shape.SequenceEqual(logVar.Shape);
        }
        catch (Exception e) when (e is WeightFileException or IOException)
        {
            return false;
        }
    }

    // Batches are the aligned groups [k*B, (k+1)*B): libtorch's conv results vary in the last bits with the batch they
    // run in, so a group with a missing entry is encoded whole (only missing entries are written), and a cache rebuilt
    // after a crash is bitwise the one an uninterrupted build gives.
    int Encode(List<int> missing, AutoencoderKl vae, PreprocessSettings settings, LatentCacheOptions options, List<SkippedImage> skippedImages)
    {
        var parameter = vae.parameters().FirstOrDefault();
        var device = parameter?.device ?? CPU;
        var dtype = parameter?.dtype ?? float32;
        var toWrite = missing.ToHashSet();
        int encoded = 0;
        using var noGrad = no_grad();
        foreach (var group in missing.Select(i => i / options.BatchSize).Distinct())
        {
            using var scope = NewDisposeScope();
            var batchIndices = new List<int>();
            var images = new List<Tensor>();
            int first = group * options.BatchSize;
            for (int index = first; index < Math.Min(Count, first + options.BatchSize); index++)
            {
                try
                {
                    images.Add(ImagePreprocessor.Load(ImagePaths[index], settings));
                    batchIndices.Add(index);
                }
                catch (Exception e) when (!options.FailFast && e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    if (toWrite.Contains(index)) skippedImages.Add(new SkippedImage(index, ImagePaths[index], e.Message));
                }
            }
            if (!batchIndices.Any(toWrite.Contains)) continue;
            // Centre crop makes every image R x R, so they stack.
            var batch = stack(images).to(dtype, device);
            using var posterior = vae.Encode(batch);
            var means = posterior.Mean.to(float32).cpu();
            var logVars = posterior.LogVar.to(float32).cpu();
            for (int i = 0; i < batchIndices.Count; i++)
            {
                if (!toWrite.Contains(batchIndices[i])) continue;
                SafetensorsFile.Save(EntryPath(batchIndices[i]), [
                    new(MeanKey, means[i].contiguous()),
                    new(LogVarKey, logVars[i].contiguous()),
                ]);
                encoded++;
            }
        }
        return encoded;
    }

    static Manifest? TryReadManifest(string directory, LatentCacheKey key, int count)
    {
        var path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path)) return null;
        try
        {
            var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), JsonOptions);
            return manifest is not null && manifest.Format == LatentCacheKey.FormatVersion && manifest.Key == key.Value && manifest.Count == count
                ? manifest with { Skipped = manifest.Skipped ?? [] }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    sealed record Manifest(
        int Format, string Key, string DatasetHash, string VaeHash, string SettingsHash, string Settings, int Count,
        double ScalingFactor, [property: JsonPropertyName("skipped")] List<SkippedImage> Skipped);
}
