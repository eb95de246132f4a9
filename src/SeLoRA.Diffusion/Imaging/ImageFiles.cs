using SkiaSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Imaging;

/// <summary>Image files to and from tensors in [0, 1], channels first ([C, H, W], C = 1 or 3).</summary>
public static class ImageFiles
{
    /// <summary>Writes a [C, H, W] tensor with values in [0, 1] (clamped, rounded to 8 bits) as a PNG.</summary>
    public static void SavePng(Tensor image, string path)
    {
        if (image.dim() != 3 || (image.shape[0] != 1 && image.shape[0] != 3))
            throw new ArgumentException($"{path}: expected an image tensor [1 or 3, H, W], got [{string.Join(", ", image.shape)}].");
        var channels = (int)image.shape[0];
        var height = (int)image.shape[1];
        var width = (int)image.shape[2];
        byte[] bytes;
        using (var scope = NewDisposeScope())
        {
            var hwc = image.detach().to(float32).cpu().clamp(0, 1).mul(255).round().to(uint8).permute(1, 2, 0).contiguous();
            bytes = hwc.data<byte>().ToArray();
        }
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[width * height * 4];
        for (int i = 0, p = 0; i < width * height; i++, p += 4)
        {
            var r = bytes[i * channels];
            pixels[p] = r;
            pixels[p + 1] = channels == 3 ? bytes[i * 3 + 1] : r;
            pixels[p + 2] = channels == 3 ? bytes[i * 3 + 2] : r;
            pixels[p + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null) Directory.CreateDirectory(directory);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
                         ?? throw new IOException($"{path}: PNG encoding failed.");
        var temp = path + ".tmp";
        using (var file = File.Create(temp)) data.SaveTo(file);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads an image file (PNG, JPEG, ...) as RGB [3, H, W] float32 in [0, 1].</summary>
    public static Tensor LoadRgb(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image not found.", path);
        using var decoded = SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path}: not a decodable image.");
        using var rgba = decoded.Copy(SKColorType.Rgba8888)
                         ?? throw new InvalidDataException($"{path}: cannot convert {decoded.ColorType} to RGBA.");
        var bytes = rgba.GetPixelSpan().ToArray();
        using var scope = NewDisposeScope();
        var hwc = tensor(bytes, new long[] { rgba.Height, rgba.Width, 4 });
        var rgb = hwc.narrow(2, 0, 3).permute(2, 0, 1).to(float32).div(255).contiguous();
        return scope.MoveToOuter(rgb);
    }
}
