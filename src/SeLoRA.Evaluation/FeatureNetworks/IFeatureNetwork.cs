using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>
/// A network that turns images into feature vectors for a Fréchet distance. Pluggable so the offline default
/// (ResNet18) and pytorch-fid's InceptionV3 are interchangeable; reports must name <see cref="Name"/> and
/// <see cref="Preprocessing"/>, because scores from different networks or resizes are not comparable.
/// </summary>
public interface IFeatureNetwork : IDisposable
{
    /// <summary>What a report calls the network (for example "InceptionV3 (pytorch-fid)").</summary>
    string Name { get; }

    /// <summary>Length of one feature vector.</summary>
    int Dimension { get; }

    /// <summary>How images are resized and scaled before the network, for reports.</summary>
    string Preprocessing { get; }

    /// <summary>
    /// Features of a batch of RGB images <c>[n, 3, H, W]</c> with values in [0, 1]: float32 <c>[n, Dimension]</c> on the CPU,
    /// computed in eval mode without gradients. The caller owns the result.
    /// </summary>
    Tensor Features(Tensor images01);
}
