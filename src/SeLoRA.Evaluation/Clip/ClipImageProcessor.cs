using SeLoRA.Diffusion.Imaging;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// transformers' (slow, PIL-based) CLIPImageProcessor, which torchmetrics' CLIPScore calls through CLIPProcessor:
/// convert to RGB; resize (shortest edge, aspect kept, new long side int(edge * long / short)) with PIL's antialiased
/// resampling on 8-bit pixels (<see cref="PilResize"/>, bit-exact with Pillow); centre crop with top = (h - crop_h) // 2,
/// left likewise; rescale (float64 multiply, then float32) and normalise (float32), as numpy does it upstream.
/// </summary>
/// <remarks>
/// Images are 8-bit going in, as PNG files are. Tensors in [0, 1] are first quantised to 8 bits (round(255 x)), the same
/// values saving them as PNG would give; torchmetrics instead expects 0..255 tensors. transformers' "fast" processor
/// (torchvision resize) can differ from this by a grey level here and there; it is not reproduced. A crop larger than
/// the resized image (which upstream zero-pads) is refused.
/// </remarks>
public sealed class ClipImageProcessor
{
    public ClipImageProcessor(ClipImageProcessorConfig? config = null)
    {
        Config = config ?? ClipImageProcessorConfig.Default;
    }

    public ClipImageProcessorConfig Config { get; }

    /// <summary>The processor described by <paramref name="folder"/>/preprocessor_config.json.</summary>
    public static ClipImageProcessor FromFolder(string folder) =>
        new(ClipImageProcessorConfig.FromJson(Path.Combine(folder, ClipImageProcessorConfig.FileName)));

    /// <summary>The (height, width) the resize step produces for an image of the given size.</summary>
    public (int Height, int Width) ResizedSize(int height, int width)
    {
        if (!Config.DoResize) return (height, width);
        if (Config.ShortestEdge is { } edge)
        {
            // transformers' get_resize_output_image_size(default_to_square=False): int() of a float quotient.
            return width <= height
                ? ((int)((double)edge * height / width), edge)
                : (edge, (int)((double)edge * width / height));
        }
        return (Config.ResizeHeight!.Value, Config.ResizeWidth!.Value);
    }

    /// <summary>An interleaved [height, width, channels] 8-bit image (1 or 3 channels, or RGBA whose alpha is dropped) -> [3, H', W'] float32.</summary>
    public Tensor Preprocess(byte[] pixels, int height, int width, int channels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        TorchRuntime.EnsureLoaded();
        var rgb = ToRgb(pixels, height, width, channels);
        var (h, w) = ResizedSize(height, width);
        var resized = (h, w) == (height, width) ? rgb : PilResize.Resize(rgb, height, width, 3, h, w, Config.Resample);

        int top = 0, left = 0, outH = h, outW = w;
        if (Config.DoCenterCrop)
        {
            if (Config.CropHeight > h || Config.CropWidth > w)
                throw new NotSupportedException(
                    $"crop_size {Config.CropHeight}x{Config.CropWidth} is larger than the resized image {h}x{w} (zero padding is not implemented).");
            top = (h - Config.CropHeight) / 2;
            left = (w - Config.CropWidth) / 2;
            outH = Config.CropHeight;
            outW = Config.CropWidth;
        }

        var mean = Config.ImageMean.Select(v => (float)v).ToArray();
        var std = Config.ImageStd.Select(v => (float)v).ToArray();
        bool rescale = Config.DoRescale, normalize = Config.DoNormalize;
        var factor = Config.RescaleFactor;
        var values = new float[3 * outH * outW];
        for (var c = 0; c < 3; c++)
        {
            float m = mean[c], s = std[c];
            for (var y = 0; y < outH; y++)
            {
                var from = ((top + y) * w + left) * 3 + c;
                var to = (c * outH + y) * outW;
                for (var x = 0; x < outW; x++, from += 3)
                {
                    var b = resized[from];
                    // numpy upstream: rescale in float64 then cast to float32; normalise in float32.
                    var v = rescale ? (float)(b * factor) : b;
                    values[to + x] = normalize ? (v - m) / s : v;
                }
            }
        }
        return tensor(values, [3, outH, outW], ScalarType.Float32);
    }

    /// <summary>A [C, H, W] image in [0, 1] (C = 1 or 3), quantised to 8 bits first -> [3, H', W'] float32.</summary>
    public Tensor Preprocess(Tensor image01)
    {
        ArgumentNullException.ThrowIfNull(image01);
        TorchRuntime.EnsureLoaded();
        if (image01.dim() != 3 || (image01.shape[0] != 1 && image01.shape[0] != 3))
            throw new ArgumentException($"expected an image [1 or 3, H, W] in [0, 1], got [{string.Join(", ", image01.shape)}]", nameof(image01));
        byte[] bytes;
        using (NewDisposeScope())
        {
            var hwc = image01.detach().to(ScalarType.Float32).cpu().clamp(0, 1).mul(255).round().to(ScalarType.Byte)
                .permute(1, 2, 0).contiguous();
            bytes = hwc.data<byte>().ToArray();
        }
        return Preprocess(bytes, (int)image01.shape[1], (int)image01.shape[2], (int)image01.shape[0]);
    }

    /// <summary>An image file (PNG, JPEG, ...) -> [3, H', W'] float32.</summary>
    public Tensor PreprocessFile(string path)
    {
        using var image = ImageFiles.LoadRgb(path);
        return Preprocess(image);
    }

    /// <summary>Several images in [0, 1] -> pixel_values [n, 3, H', W'].</summary>
    public Tensor PreprocessBatch(IReadOnlyList<Tensor> images01)
    {
        ArgumentNullException.ThrowIfNull(images01);
        if (images01.Count == 0) throw new ArgumentException("no images to preprocess", nameof(images01));
        var processed = images01.Select(Preprocess).ToList();
        try
        {
            return stack(processed, 0);
        }
        finally
        {
            foreach (var t in processed) t.Dispose();
        }
    }

    static byte[] ToRgb(byte[] pixels, int height, int width, int channels)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size must be positive, got {height}x{width}");
        if (channels is not (1 or 3 or 4)) throw new ArgumentException($"expected 1, 3 or 4 channels, got {channels}", nameof(channels));
        if (pixels.Length != (long)height * width * channels)
            throw new ArgumentException($"expected {(long)height * width * channels} bytes for {height}x{width}x{channels}, got {pixels.Length}", nameof(pixels));
        if (channels == 3) return pixels;
        var rgb = new byte[height * width * 3];
        for (var i = 0; i < height * width; i++)
            for (var c = 0; c < 3; c++)
                rgb[i * 3 + c] = pixels[i * channels + (channels == 1 ? 0 : c)];
        return rgb;
    }
}
