using SeLoRA.Data.Preprocessing;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.Tests.Preprocessing;

public sealed class ImagePreprocessorTests : IDisposable
{
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("selora-preprocess-");

    public void Dispose() => dir.Delete(recursive: true);

    string PathOf(string name) => Path.Combine(dir.FullName, name);

    // PyTorch upsample_bilinear2d, align_corners=False, output size given: src = (dst + 0.5) * in/out - 0.5, clamped at 0.
    static double Bilinear(double[,] img, int outH, int outW, int y, int x)
    {
        int inH = img.GetLength(0), inW = img.GetLength(1);
        static (int I0, int I1, double L1) Axis(int dst, int inSize, int outSize)
        {
            double src = Math.Max(0, (dst + 0.5) * inSize / outSize - 0.5);
            int i0 = (int)Math.Floor(src);
            int i1 = i0 < inSize - 1 ? i0 + 1 : i0;
            return (i0, i1, src - i0);
        }
        var (y0, y1, ly) = Axis(y, inH, outH);
        var (x0, x1, lx) = Axis(x, inW, outW);
        return (1 - ly) * ((1 - lx) * img[y0, x0] + lx * img[y0, x1]) + ly * ((1 - lx) * img[y1, x0] + lx * img[y1, x1]);
    }

    static readonly int[] Pixels4x2 = [0, 60, 120, 240, 30, 90, 150, 210];

    [Fact]
    public void Resize_and_center_crop_match_the_bilinear_formula_on_a_4x2_image()
    {
        var path = PathOf("g8.png");
        TestPngWriter.Write(path, width: 4, height: 2, channels: 1, bitDepth: 8, Pixels4x2);
        var img = new double[2, 4];
        for (int i = 0; i < 8; i++) img[i / 4, i % 4] = Pixels4x2[i] / 255.0;

        using var output = ImagePreprocessor.Load(path, new PreprocessSettings(Resolution: 3));

        Assert.Equal(new long[] { 3, 3, 3 }, output.shape);
        // Shortest side 2 -> 3, longest int(3 * 4 / 2) = 6; CenterCrop left = round((6 - 3) / 2) = round(1.5) = 2 (half to even).
        Assert.Equal((3L, 6L), ImagePreprocessor.ShortestSideSize(2, 4, 3));
        Assert.Equal((0L, 2L), ImagePreprocessor.CenterCropOffsets(3, 6, 3));
        var values = output.data<float>().ToArray();
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
            {
                double expected = 2 * Bilinear(img, 3, 6, y, x + 2) - 1;
                Assert.Equal(expected, values[y * 3 + x], 5);
            }
        // By hand: row 0 (src_y = -1/6 clamps to 0), column 2 (src_x = 7/6): 60 * 5/6 + 120 * 1/6 = 70.
        Assert.Equal(2 * 70 / 255.0 - 1, values[0], 5);
        // Channels 1 and 2 are copies of the gray channel.
        Assert.Equal(values[..9], values[9..18]);
        Assert.Equal(values[..9], values[18..27]);
    }

    [Fact]
    public void Downscale_of_a_tall_image_matches_the_formula_with_python_rounding()
    {
        int[] pixels = [12, 250, 3, 77, 180, 90, 45, 201, 66, 130, 8, 222, 35, 99, 160]; // 3 wide, 5 tall
        var path = PathOf("tall.png");
        TestPngWriter.Write(path, width: 3, height: 5, channels: 1, bitDepth: 8, pixels, filtered: true);
        var img = new double[5, 3];
        for (int i = 0; i < 15; i++) img[i / 3, i % 3] = pixels[i] / 255.0;

        // Width 3 -> 2, height int(2 * 5 / 3) = 3; top = round(0.5) = 0 (half to even), left 0.
        Assert.Equal((3L, 2L), ImagePreprocessor.ShortestSideSize(5, 3, 2));
        Assert.Equal((0L, 0L), ImagePreprocessor.CenterCropOffsets(3, 2, 2));
        Assert.Equal((2L, 0L), ImagePreprocessor.CenterCropOffsets(7, 3, 2)); // round(2.5) = 2
        using var output = ImagePreprocessor.Load(path, new PreprocessSettings(Resolution: 2));
        var values = output.data<float>().ToArray();
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
                Assert.Equal(2 * Bilinear(img, 3, 2, y, x) - 1, values[y * 2 + x], 5);
    }

    [Fact]
    public void Sixteen_bit_grayscale_keeps_full_precision()
    {
        var path = PathOf("g16.png");
        TestPngWriter.Write(path, width: 2, height: 2, channels: 1, bitDepth: 16, [1000, 65535, 0, 32768]);

        using var decoded = ImageDecoder.Load(path);
        Assert.Equal(new long[] { 1, 2, 2 }, decoded.shape);
        var d = decoded.data<float>().ToArray();
        Assert.Equal((float)(1000 / 65535.0), d[0]);
        Assert.NotEqual((float)(4 / 255.0), d[0]); // what an 8-bit round trip would give
        Assert.Equal(1f, d[1]);
        Assert.Equal(0f, d[2]);
        Assert.Equal((float)(32768 / 65535.0), d[3]);

        using var output = ImagePreprocessor.Load(path, new PreprocessSettings(Resolution: 2));
        var o = output.data<float>().ToArray();
        Assert.Equal(new long[] { 3, 2, 2 }, output.shape);
        Assert.Equal((float)(1000 / 65535.0) * 2f - 1f, o[0]);
        Assert.Equal(o[..4], o[4..8]);
    }

    [Fact]
    public void Sixteen_bit_rgb_and_filtered_rows_decode_exactly()
    {
        var path = PathOf("rgb16.png");
        int[] samples = [1000, 2000, 3000, 65535, 32769, 1, 7, 8, 9, 40000, 50000, 60000];
        TestPngWriter.Write(path, width: 2, height: 2, channels: 3, bitDepth: 16, samples, filtered: true);
        using var decoded = ImageDecoder.Load(path);
        Assert.Equal(new long[] { 3, 2, 2 }, decoded.shape);
        var d = decoded.data<float>().ToArray();
        for (int p = 0; p < 4; p++)
            for (int c = 0; c < 3; c++)
                Assert.Equal((float)(samples[p * 3 + c] / 65535.0), d[c * 4 + p]);
    }

    [Fact]
    public void Eight_bit_rgb_png_and_jpeg_decode()
    {
        var png = PathOf("rgb8.png");
        TestPngWriter.Write(png, width: 2, height: 1, channels: 3, bitDepth: 8, [10, 20, 30, 200, 100, 0]);
        using (var decoded = ImageDecoder.Load(png))
        {
            Assert.Equal(new long[] { 3, 1, 2 }, decoded.shape);
            Assert.Equal(new[] { 10 / 255f, 200 / 255f, 20 / 255f, 100 / 255f, 30 / 255f, 0f }, decoded.data<float>().ToArray());
        }

        var jpeg = PathOf("photo.jpg");
        using (var bitmap = new SKBitmap(16, 8))
        {
            bitmap.Erase(new SKColor(200, 100, 50));
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 100);
            using var file = File.Create(jpeg);
            data.SaveTo(file);
        }
        using var image = ImageDecoder.Load(jpeg);
        Assert.Equal(new long[] { 3, 8, 16 }, image.shape);
        var means = image.mean(new long[] { 1, 2 }).data<float>().ToArray();
        Assert.Equal(200 / 255.0, means[0], 0.02);
        Assert.Equal(100 / 255.0, means[1], 0.02);
        Assert.Equal(50 / 255.0, means[2], 0.02);

        using var output = ImagePreprocessor.Load(jpeg, new PreprocessSettings(Resolution: 4));
        Assert.Equal(new long[] { 3, 4, 4 }, output.shape);
        Assert.InRange(output.min().item<float>(), -1f, 1f);
        Assert.InRange(output.max().item<float>(), -1f, 1f);
    }

    [Fact]
    public void Random_flip_needs_a_generator_and_is_reproducible()
    {
        var path = PathOf("g8.png");
        TestPngWriter.Write(path, width: 4, height: 2, channels: 1, bitDepth: 8, Pixels4x2);
        var settings = new PreprocessSettings(Resolution: 2, RandomFlip: true);
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Load(path, settings));

        using var plain = ImagePreprocessor.Load(path, new PreprocessSettings(Resolution: 2));
        using var flipped = plain.flip(2);
        int flips = 0;
        for (int seed = 0; seed < 16; seed++)
        {
            using var g1 = new Generator((ulong)seed);
            using var g2 = new Generator((ulong)seed);
            using var a = ImagePreprocessor.Load(path, settings, g1);
            using var b = ImagePreprocessor.Load(path, settings, g2);
            Assert.True(a.equal(b).all().item<bool>());
            if (a.equal(flipped).all().item<bool>()) flips++;
            else Assert.True(a.equal(plain).all().item<bool>());
        }
        Assert.InRange(flips, 1, 15);
    }

    [Fact]
    public void Settings_hash_is_stable_and_changes_with_each_field()
    {
        var a = new PreprocessSettings();
        Assert.Equal(224, a.Resolution);
        Assert.Equal(a.Hash, new PreprocessSettings(224, true, false).Hash);
        Assert.Equal(64, a.Hash.Length);
        var hashes = new[] { a, a with { Resolution = 512 }, a with { CenterCrop = false }, a with { RandomFlip = true } }
            .Select(s => s.Hash).ToHashSet();
        Assert.Equal(4, hashes.Count);
    }

    [Fact]
    public void Corrupt_files_fail_with_the_file_name()
    {
        var g16 = PathOf("bad16.png");
        TestPngWriter.Write(g16, 8, 8, 1, 16, Enumerable.Range(0, 64).Select(i => i * 1000).ToArray());
        var bytes = File.ReadAllBytes(g16);
        File.WriteAllBytes(g16, bytes[..(bytes.Length - 30)]);
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Load(g16));
        Assert.Contains("bad16.png", e.Message);

        var junk = PathOf("junk.jpg");
        File.WriteAllText(junk, "not an image");
        e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Load(junk));
        Assert.Contains("junk.jpg", e.Message);
    }
}
