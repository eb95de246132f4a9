using SkiaSharp;

namespace SeLoRA.Data.Datasets;

/// <summary>Checks an image file at the level <see cref="ImageCheck"/> asks for.</summary>
public static class ImageProbe
{
    /// <summary>Null when the image passes; otherwise the skip category and a detail.</summary>
    public static (string Category, string Detail)? Problem(string path, ImageCheck check)
    {
        if (!File.Exists(path)) return (SkipCategories.ImageMissing, $"{path} not found");
        if (check == ImageCheck.Exists) return null;
        try
        {
            // SKCodec reads only the header; pixels are decoded on demand.
            using var codec = SKCodec.Create(path, out var result);
            if (codec == null) return (SkipCategories.ImageUndecodable, $"{path}: unrecognised image header ({result})");
            var info = codec.Info;
            if (info.Width <= 0 || info.Height <= 0)
                return (SkipCategories.ImageUndecodable, $"{path}: invalid size {info.Width}x{info.Height}");
            if (check == ImageCheck.Decode)
            {
                using var bitmap = SKBitmap.Decode(codec);
                if (bitmap == null) return (SkipCategories.ImageUndecodable, $"{path}: pixel data does not decode");
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (SkipCategories.ImageUndecodable, $"{path}: {e.Message}");
        }
    }
}
