using SkiaSharp;

namespace SeLoRA.Data.Tests.Datasets;

/// <summary>A temporary folder for one test's dataset fixture, deleted on dispose; writes tiny PNGs and text files.</summary>
public sealed class FixtureFolder : IDisposable
{
    public FixtureFolder() => Root = Directory.CreateTempSubdirectory("selora-datasets-").FullName;

    public string Root { get; }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public string WriteText(string relative, string content)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A 4x4 grey PNG whose shade depends on <paramref name="shade"/>.</summary>
    public string WritePng(string relative, byte shade = 128)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(4, 4);
        bitmap.Erase(new SKColor(shade, shade, shade));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
        return path;
    }

    /// <summary>A file with a .png name and bytes that are not an image.</summary>
    public string WriteCorruptPng(string relative) => WriteText(relative, "this is not a PNG, just text");

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}
