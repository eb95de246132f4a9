using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>
/// pytorch-fid's InceptionV3 input handling (resize_input and normalize_input): F.interpolate to 299x299, bilinear,
/// align_corners=False (no antialias), then 2x - 1.
/// </summary>
static class FidInceptionInput
{
    public const string Description = "bilinear resize to 299x299 (align_corners=False, no antialias), then 2x - 1 (pytorch-fid)";

    /// <summary>Images in [0, 1], <c>[n, 3, H, W]</c>, to the network's input; a new tensor.</summary>
    public static Tensor Prepare(Tensor images01)
    {
        // pytorch-fid interpolates even at 299x299, which is then the identity.
        using var resized = nn.functional.interpolate(images01, size: new long[] { FidInceptionV3.InputSize, FidInceptionV3.InputSize },
            mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.mul(2.0).sub_(1.0);
    }
}
