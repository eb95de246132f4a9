using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.Preprocessing;

/// <summary>
/// The training image transform, matching torchvision's Resize(size, BILINEAR, antialias=False) on tensors (i.e.
/// torch.nn.functional.interpolate(mode="bilinear", align_corners=False)), CenterCrop or RandomCrop, RandomHorizontalFlip,
/// ToTensor and Normalize([0.5], [0.5]).
/// </summary>
public static class ImagePreprocessor
{
    /// <summary>Reads and transforms a file: float32 [3, R, R] in [-1, 1]. The caller disposes it.</summary>
    /// <param name="generator">Draws the random crop and flip (as torchvision: randint for the crop offsets, then
    /// rand(1) &lt; 0.5 for the flip); required only when the settings are random.</param>
    public static Tensor Load(string path, PreprocessSettings settings, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        RequireGenerator(settings.Validate(), generator);
        using var image = ImageDecoder.Load(path);
        try
        {
            return Apply(image, settings, generator);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Transforms [C, H, W] in [0, 1] (C = 1 or 3) into [3, R, R] in [-1, 1].</summary>
    public static Tensor Apply(Tensor image, PreprocessSettings settings, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (image.dim() != 3 || (image.shape[0] != 1 && image.shape[0] != 3))
            throw new ArgumentException($"expected an image [1 or 3, H, W], got [{string.Join(", ", image.shape)}]");
        RequireGenerator(settings, generator);
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        int r = settings.Resolution;
        var x = ResizeShortestSide(image.to(float32), r);
        x = settings.CenterCrop ? CenterCrop(x, r) : RandomCrop(x, r, generator!);
        if (settings.RandomFlip && rand(1, generator: generator).item<float>() < 0.5f)
            x = x.flip(2);
        x = x.mul(2).sub(1);
        if (x.shape[0] == 1) x = x.expand(3, -1, -1);
        return scope.MoveToOuter(x.contiguous());
    }

    /// <summary>
    /// Output size of torchvision's Resize(int) for an H x W image: the shortest side becomes <paramref name="size"/>,
    /// the longest int(size * long / short) (truncated, as Python's int()).
    /// </summary>
    public static (long Height, long Width) ShortestSideSize(long height, long width, int size)
    {
        if (height <= width) return (size, (long)((double)size * width / height));
        return ((long)((double)size * height / width), size);
    }

    /// <summary>Bilinear resize of [C, H, W] (align_corners=False, no antialias) so the shortest side is <paramref name="size"/>.</summary>
    public static Tensor ResizeShortestSide(Tensor image, int size)
    {
        var (h, w) = ShortestSideSize(image.shape[1], image.shape[2], size);
        if (h == image.shape[1] && w == image.shape[2]) return image.alias();
        using var batch = image.unsqueeze(0);
        using var resized = nn.functional.interpolate(batch, size: new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.squeeze(0);
    }

    /// <summary>
    /// torchvision CenterCrop offsets: top = round((H - size) / 2), left = round((W - size) / 2) with Python's
    /// round-half-to-even.
    /// </summary>
    public static (long Top, long Left) CenterCropOffsets(long height, long width, int size) =>
        ((long)Math.Round((height - size) / 2.0, MidpointRounding.ToEven), (long)Math.Round((width - size) / 2.0, MidpointRounding.ToEven));

    public static Tensor CenterCrop(Tensor image, int size)
    {
        RequireAtLeast(image, size);
        var (top, left) = CenterCropOffsets(image.shape[1], image.shape[2], size);
        return image.narrow(1, top, size).narrow(2, left, size);
    }

    static Tensor RandomCrop(Tensor image, int size, Generator generator)
    {
        RequireAtLeast(image, size);
        // torchvision RandomCrop.get_params: i = randint(0, h - th + 1), then j = randint(0, w - tw + 1).
        long top = randint(0, image.shape[1] - size + 1, new long[] { 1 }, generator: generator).item<long>();
        long left = randint(0, image.shape[2] - size + 1, new long[] { 1 }, generator: generator).item<long>();
        return image.narrow(1, top, size).narrow(2, left, size);
    }

    static void RequireGenerator(PreprocessSettings settings, Generator? generator)
    {
        if (!settings.IsDeterministic && generator is null)
            throw new ArgumentException("random crop or flip needs an explicit generator (seeded per sample) for reproducibility", nameof(generator));
    }

    static void RequireAtLeast(Tensor image, int size)
    {
        if (image.shape[1] < size || image.shape[2] < size)
            throw new ArgumentException($"image [{string.Join(", ", image.shape)}] is smaller than the {size}x{size} crop");
    }
}
