using System.Runtime.InteropServices;
using SeLoRA.Torch;
using SkiaSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.Preprocessing;

/// <summary>
/// Reads PNG (8- and 16-bit, grayscale or colour) and JPEG files as float32 [C, H, W] in [0, 1], C = 1 for grayscale
/// sources and 3 otherwise. 16-bit PNGs keep full precision (value / 65535); 8-bit sources are value / 255. No colour
/// management is applied (as PIL, which the Python pipelines use, does not), and alpha is dropped.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Decodes <paramref name="path"/>; the caller disposes the tensor.</summary>
    /// <exception cref="InvalidDataException">The file is not a decodable image; the message names the file.</exception>
    public static Tensor Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image not found.", path);
        var bytes = File.ReadAllBytes(path);
        return Decode(bytes, path);
    }

    /// <summary>Decodes image bytes; <paramref name="source"/> names them in errors.</summary>
    public static Tensor Decode(byte[] bytes, string source)
    {
        TorchRuntime.EnsureLoaded();
        if (Png16Decoder.ReadHeader(bytes) is { BitDepth: 16 })
        {
            var (data, channels, height, width) = Png16Decoder.Decode(bytes, source);
            return tensor(data, new long[] { channels, height, width });
        }
        return DecodeWithSkia(bytes, source);
    }

    static Tensor DecodeWithSkia(byte[] bytes, string source)
    {
        using var skData = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(skData)
                          ?? throw new InvalidDataException($"{source}: not a decodable image (PNG or JPEG expected).");
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) throw new InvalidDataException($"{source}: image size {info.Width}x{info.Height} is invalid.");
        bool gray = info.ColorType == SKColorType.Gray8;
        var target = new SKImageInfo(info.Width, info.Height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[target.BytesSize];
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(target, handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
        // IncompleteInput leaves part of the image blank: a truncated file, which must not train silently.
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{source}: image decoding failed ({result}); the file may be truncated or corrupt.");

        using var scope = NewDisposeScope();
        Tensor chw;
        if (gray)
        {
            chw = tensor(pixels, new long[] { 1, info.Height, info.Width }).to(float32).div(255);
        }
        else
        {
            var hwc = tensor(pixels, new long[] { info.Height, info.Width, 4 });
            chw = hwc.narrow(2, 0, 3).permute(2, 0, 1).to(float32).div(255).contiguous();
        }
        return scope.MoveToOuter(chw);
    }
}
