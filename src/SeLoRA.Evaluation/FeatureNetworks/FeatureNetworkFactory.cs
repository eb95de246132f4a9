namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>
/// Feature networks by name, as the command line and configuration give them, and what a report must call a Fréchet
/// distance computed with each: only pytorch-fid's InceptionV3 gives an "FID".
/// </summary>
public static class FeatureNetworkFactory
{
    /// <summary>The offline default: <see cref="ResNet18FeatureNetwork"/>.</summary>
    public const string ResNet18 = "resnet18";

    /// <summary>Prefix of "inception:&lt;weights file&gt;": pytorch-fid's InceptionV3 from a safetensors file.</summary>
    public const string InceptionPrefix = "inception:";

    /// <summary>The metric names.</summary>
    public const string FdResNet18Metric = "FD-ResNet18";

    /// <inheritdoc cref="FdResNet18Metric"/>
    public const string FidMetric = "FID";

    /// <summary>The accepted spellings, for help and error messages.</summary>
    public const string AcceptedForms = "'resnet18' (the ImageNet ResNet18 ONNX shipped with the program) or 'inception:<weights file>' " +
                                        "(pytorch-fid's pt_inception-2015-12-05 converted to safetensors)";

    /// <summary>Builds the network <paramref name="spec"/> names: "resnet18" or "inception:&lt;weights file&gt;".</summary>
    /// <param name="intraOpThreads">ONNX Runtime threads for ResNet18 (0: libtorch's count); ignored by InceptionV3, which runs in libtorch.</param>
    /// <exception cref="ArgumentException">An unknown spec; the message names it and lists the accepted forms.</exception>
    public static IFeatureNetwork Create(string spec, int intraOpThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var trimmed = spec.Trim();
        if (string.Equals(trimmed, ResNet18, StringComparison.OrdinalIgnoreCase))
            return new ResNet18FeatureNetwork(intraOpThreads);
        if (trimmed.StartsWith(InceptionPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var path = trimmed[InceptionPrefix.Length..];
            if (path.Length == 0)
                throw new ArgumentException($"feature network '{spec}': 'inception:' needs the weights file after the colon, e.g. inception:pt_inception-2015-12-05.safetensors");
            return FidInceptionV3.Load(path);
        }
        throw new ArgumentException($"unknown feature network '{spec}': expected {AcceptedForms}");
    }

    /// <summary>
    /// What a report calls the Fréchet distance computed with <paramref name="network"/>: "FD-ResNet18" for ResNet18, "FID"
    /// for pytorch-fid's InceptionV3, otherwise "FD (network name)". A ResNet18 value is never an FID.
    /// </summary>
    public static string MetricName(IFeatureNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return network switch
        {
            ResNet18FeatureNetwork => FdResNet18Metric,
            FidInceptionV3 => FidMetric,
            _ => $"FD ({network.Name})",
        };
    }

    /// <summary>Short form of a network's resize for one-line reports: "bilinear 224", "bilinear 299", or its full preprocessing.</summary>
    public static string ResizeSummary(IFeatureNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return network switch
        {
            ResNet18FeatureNetwork => $"bilinear {ResNet18FeatureNetwork.InputSize}",
            FidInceptionV3 => $"bilinear {FidInceptionV3.InputSize}",
            _ => network.Preprocessing,
        };
    }
}
