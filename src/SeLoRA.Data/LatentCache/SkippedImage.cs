namespace SeLoRA.Data.LatentCache;

/// <summary>An image left out of the cache because it could not be read; <paramref name="Reason"/> names the problem.</summary>
public sealed record SkippedImage(int Index, string Path, string Reason);
