using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Preprocessing;

/// <summary>
/// pytorch-fid's InceptionV3 input handling (resize_input and normalize_input, both on by default there): images
/// [n, 3, H, W] in [0, 1] are resized to 299 x 299 bilinearly with align_corners = false and no antialiasing
/// (F.interpolate's defaults), then mapped to [-1, 1] by 2x - 1.
/// </summary>
public static class InceptionPreprocessing
{
    /// <summary>InceptionV3's input side.</summary>
    public const int Size = 299;

    /// <summary>Resize then normalise, as pytorch-fid's InceptionV3.forward does; returns float32 on the input's device.</summary>
    /// <param name="checkRange">Reject values outside [0, 1] (a common slip: passing the VAE's [-1, 1] output).</param>
    public static Tensor Apply(Tensor images, bool checkRange = true)
    {
        using var scope = NewDisposeScope();
        var resized = Resize(images, checkRange);
        return Normalize(resized).MoveToOuterDisposeScope();
    }

    /// <summary>Bilinear resize to 299 x 299 (align_corners = false, no antialias) in float32.</summary>
    public static Tensor Resize(Tensor images, bool checkRange = true)
    {
        Validate(images, checkRange);
        using var scope = NewDisposeScope();
        var x = images.to_type(ScalarType.Float32);
        var resized = nn.functional.interpolate(x, size: [Size, Size], mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.MoveToOuterDisposeScope();
    }

    /// <summary>2x - 1: [0, 1] to [-1, 1].</summary>
    public static Tensor Normalize(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return images * 2.0 - 1.0;
    }

    static void Validate(Tensor images, bool checkRange)
    {
        ArgumentNullException.ThrowIfNull(images);
        TorchRuntime.EnsureLoaded();
        if (images.ndim != 4 || images.shape[1] != 3)
            throw new ArgumentException($"images must be [n, 3, H, W] RGB; got shape [{string.Join(", ", images.shape)}]", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"images must be floating point in [0, 1]; got {images.dtype} (divide 8-bit pixels by 255)", nameof(images));
        if (!checkRange || images.numel() == 0) return;
        // A little slack for rounding in upstream float conversions.
        const double slack = 1e-3;
        using var minT = images.min().to_type(ScalarType.Float64);
        using var maxT = images.max().to_type(ScalarType.Float64);
        var min = minT.item<double>();
        var max = maxT.item<double>();
        if (!double.IsFinite(min) || !double.IsFinite(max) || min < -slack || max > 1 + slack)
            throw new ArgumentException($"images must lie in [0, 1]; values range over [{min}, {max}]", nameof(images));
    }
}
