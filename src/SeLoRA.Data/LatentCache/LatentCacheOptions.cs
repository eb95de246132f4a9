namespace SeLoRA.Data.LatentCache;

/// <summary>How a latent cache is built.</summary>
/// <param name="BatchSize">Images per VAE forward pass.</param>
/// <param name="FailFast">Throw on the first unreadable image instead of skipping and reporting it.</param>
/// <param name="DatasetRoot">Paths are hashed relative to this folder (so moving the data set keeps the cache); null: absolute paths.</param>
public sealed record LatentCacheOptions(int BatchSize = 8, bool FailFast = false, string? DatasetRoot = null)
{
    public static LatentCacheOptions Default { get; } = new();
}
