using SeLoRA.Diffusion.Imaging;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Imaging;

public sealed class ImageFilesTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-images-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Rgb_survives_a_png_round_trip_to_within_8_bit_rounding()
    {
        TorchRuntime.EnsureLoaded();
        using var image = rand(new long[] { 3, 5, 7 }, generator: new Generator(3));
        var path = Path.Combine(_dir, "a.png");
        ImageFiles.SavePng(image, path);
        using var back = ImageFiles.LoadRgb(path);
        Assert.Equal(new long[] { 3, 5, 7 }, back.shape);
        Assert.True((back - image).abs().max().item<float>() <= 0.5f / 255 + 1e-6f);
    }

    [Fact]
    public void Grayscale_is_written_as_equal_channels_and_values_are_clamped()
    {
        TorchRuntime.EnsureLoaded();
        using var image = tensor(new float[] { -1f, 0f, 0.5f, 2f }).reshape(1, 2, 2);
        var path = Path.Combine(_dir, "g.png");
        ImageFiles.SavePng(image, path);
        using var back = ImageFiles.LoadRgb(path);
        var expected = new[] { 0f, 0f, 128f / 255, 1f };
        for (var c = 0; c < 3; c++)
            Assert.Equal(expected, back[c].flatten().data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Bad_inputs_name_the_file()
    {
        TorchRuntime.EnsureLoaded();
        using var wrong = zeros(2, 4, 4);
        var path = Path.Combine(_dir, "x.png");
        Assert.Contains(path, Assert.Throws<ArgumentException>(() => ImageFiles.SavePng(wrong, path)).Message);
        File.WriteAllText(path, "not an image");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => ImageFiles.LoadRgb(path)).Message);
        Assert.Throws<FileNotFoundException>(() => ImageFiles.LoadRgb(Path.Combine(_dir, "none.png")));
    }
}
