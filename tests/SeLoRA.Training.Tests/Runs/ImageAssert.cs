using SkiaSharp;

namespace SeLoRA.Training.Tests.Runs;

static class ImageAssert
{
    public static SKBitmap Decode(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        return bitmap;
    }

    public static int DistinctColours(SKBitmap bitmap) => bitmap.Pixels.Distinct().Count();

    public static void SolidPng(string path, int width, int height, SKColor colour)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap)) canvas.Clear(colour);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    public static bool Near(SKColor a, SKColor b, int tolerance = 8) =>
        Math.Abs(a.Red - b.Red) <= tolerance && Math.Abs(a.Green - b.Green) <= tolerance && Math.Abs(a.Blue - b.Blue) <= tolerance;
}
