using SeLoRA.Evaluation.FeatureNetworks;

namespace SeLoRA.Evaluation.Fid;

/// <summary>The Fréchet distance between a folder of real images and a folder of generated ones, named by its network.</summary>
public static class FolderFrechet
{
    /// <summary>
    /// Lists both folders (<see cref="ImageSetFeatures.ListImages"/>: sorted PNG/JPEG files, at least 2 each), computes
    /// their feature statistics and the distance (real first). With <paramref name="cacheFolder"/>, the real set's
    /// statistics are read from or written to it.
    /// </summary>
    public static FrechetReport Compute(IFeatureNetwork network, string realFolder, string generatedFolder,
        int batchSize = ImageSetFeatures.DefaultBatchSize, string? cacheFolder = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var real = ImageSetFeatures.ListImages(realFolder);
        var generated = ImageSetFeatures.ListImages(generatedFolder);
        return Compute(network, real, generated, batchSize, cacheFolder, cancellationToken);
    }

    /// <summary>As the folder overload, from explicit file lists.</summary>
    public static FrechetReport Compute(IFeatureNetwork network, IReadOnlyList<string> realFiles, IReadOnlyList<string> generatedFiles,
        int batchSize = ImageSetFeatures.DefaultBatchSize, string? cacheFolder = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var real = cacheFolder is null
            ? ImageSetFeatures.Compute(network, realFiles, batchSize, cancellationToken: cancellationToken)
            : ImageSetFeatures.ComputeCached(network, realFiles, cacheFolder, batchSize, cancellationToken: cancellationToken).Statistics;
        var generated = ImageSetFeatures.Compute(network, generatedFiles, batchSize, cancellationToken: cancellationToken);
        return FromStatistics(network, real, generated);
    }

    /// <summary>The report for statistics already computed with <paramref name="network"/>.</summary>
    public static FrechetReport FromStatistics(IFeatureNetwork network, FeatureStatistics real, FeatureStatistics generated)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(generated);
        if (real.Dimension != network.Dimension || generated.Dimension != network.Dimension)
            throw new ArgumentException(
                $"statistics have dimensions {real.Dimension} (real) and {generated.Dimension} (generated); {network.Name} gives {network.Dimension}");
        var result = FrechetDistance.ComputeDetailed(real, generated);
        return FrechetReport.Create(FeatureNetworkFactory.MetricName(network), network.Name, FeatureNetworkFactory.ResizeSummary(network), network.Preprocessing,
            real.Count, generated.Count, result);
    }
}
