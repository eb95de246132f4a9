using SeLoRA.Diffusion.Imaging;
using SeLoRA.Evaluation.FeatureNetworks;
using SeLoRA.Evaluation.Fid;
using SeLoRA.Evaluation.Tests.FeatureNetworks;
using SeLoRA.Torch;
using SkiaSharp;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Fid;

public sealed class FolderFrechetTests(ResNet18Fixture fixture) : IClassFixture<ResNet18Fixture>, IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("folder-frechet-").FullName;
    readonly ResNet18FeatureNetwork network = fixture.Network;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Uniform noise images.</summary>
    string NoiseFolder(string name, int count, long seed)
    {
        TorchRuntime.EnsureLoaded();
        var folder = Path.Combine(dir, name);
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        for (var i = 0; i < count; i++)
        {
            using var image = rand([3, 32, 32], generator: generator);
            ImageFiles.SavePng(image, Path.Combine(folder, $"{i:D3}.png"));
        }
        return folder;
    }

    /// <summary>Smooth colour gradients in varied directions.</summary>
    string GradientFolder(string name, int count, long seed)
    {
        TorchRuntime.EnsureLoaded();
        var folder = Path.Combine(dir, name);
        var random = new Random((int)seed);
        using var ys = linspace(0, 1, 32).view(1, 32, 1);
        using var xs = linspace(0, 1, 32).view(1, 1, 32);
        for (var i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            var angle = random.NextDouble() * Math.PI;
            var ramp = (xs * Math.Cos(angle) + ys * Math.Sin(angle) + 1) / 3;
            var colour = tensor(new float[] { random.NextSingle(), random.NextSingle(), random.NextSingle() }).view(3, 1, 1);
            var image = (ramp * 0.5 + colour * 0.5).clamp(0, 1);
            ImageFiles.SavePng(image, Path.Combine(folder, $"{i:D3}.png"));
        }
        return folder;
    }

    [Fact]
    public void A_folder_against_itself_is_zero()
    {
        var folder = NoiseFolder("noise", 8, 1);
        var report = FolderFrechet.Compute(network, folder, folder, batchSize: 5, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(Math.Abs(report.Value) < 1e-6 * Math.Max(1, report.TraceReal), $"FD {report.Value} (trace {report.TraceReal})");
        Assert.Equal(0, report.MeanTerm);
        Assert.Equal(8, report.RealCount);
        Assert.Equal(8, report.GeneratedCount);
    }

    [Fact]
    public void Noise_against_gradients_is_positive_and_symmetric()
    {
        var noise = NoiseFolder("noise", 12, 2);
        var gradients = GradientFolder("gradients", 12, 3);
        var ab = FolderFrechet.Compute(network, noise, gradients, cancellationToken: TestContext.Current.CancellationToken);
        var ba = FolderFrechet.Compute(network, gradients, noise, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(ab.Value > 0.01 * (ab.TraceReal + ab.TraceGenerated), $"FD {ab.Value}");
        Assert.True(Math.Abs(ab.Value - ba.Value) <= 1e-6 * ab.Value, $"FD(a, b) {ab.Value} vs FD(b, a) {ba.Value}");
        Assert.Equal("FD-ResNet18", ab.Metric);
        Assert.Equal("ResNet18 (ImageNet, ONNX)", ab.Network);
        Assert.Equal(network.Preprocessing, ab.Preprocessing);
        var line = ab.Describe();
        Assert.StartsWith("FD-ResNet18 ", line);
        Assert.Contains("(ResNet18 (ImageNet, ONNX), bilinear 224, 12 real vs 12 generated images)", line);
        Assert.DoesNotContain("FID", line);
    }

    [Fact]
    public void Batching_does_not_change_the_statistics()
    {
        var files = ImageSetFeatures.ListImages(NoiseFolder("noise", 7, 4));
        var one = ImageSetFeatures.Compute(network, files, batchSize: 7, cancellationToken: TestContext.Current.CancellationToken);
        var three = ImageSetFeatures.Compute(network, files, batchSize: 3, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(7, one.Count);
        for (var i = 0; i < one.Mean.Length; i++) Assert.Equal(one.Mean[i], three.Mean[i], 1e-5);
        for (var i = 0; i < one.Covariance.Length; i += 97) Assert.Equal(one.Covariance[i], three.Covariance[i], 1e-5);
    }

    [Fact]
    public void Listing_is_sorted_and_reads_only_images()
    {
        var folder = NoiseFolder("mixed", 3, 5);
        File.WriteAllText(Path.Combine(folder, "metadata.jsonl"), "{}");
        File.Move(Path.Combine(folder, "000.png"), Path.Combine(folder, "b.PNG"));
        File.Copy(Path.Combine(folder, "001.png"), Path.Combine(folder, "a.jpg")); // the extension decides; SkiaSharp reads by content
        Directory.CreateDirectory(Path.Combine(folder, "sub.png"));
        var files = ImageSetFeatures.ListImages(folder).Select(Path.GetFileName).ToList();
        Assert.Equal(["001.png", "002.png", "a.jpg", "b.PNG"], files);
    }

    [Fact]
    public void Empty_single_image_and_missing_folders_are_errors_naming_the_folder()
    {
        var empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "not an image");
        Assert.Contains(empty, Assert.Throws<InvalidDataException>(() => ImageSetFeatures.ListImages(empty)).Message);
        var single = NoiseFolder("single", 1, 6);
        var e = Assert.Throws<InvalidDataException>(() => FolderFrechet.Compute(network, single, single, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains(single, e.Message);
        Assert.Contains("at least 2", e.Message);
        var missing = Path.Combine(dir, "missing");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => ImageSetFeatures.ListImages(missing)).Message);
    }

    [Fact]
    public void A_grayscale_png_reads_as_three_equal_channels()
    {
        TorchRuntime.EnsureLoaded();
        var folder = Directory.CreateDirectory(Path.Combine(dir, "gray")).FullName;
        var rgbFolder = Directory.CreateDirectory(Path.Combine(dir, "rgb")).FullName;
        var random = new Random(7);
        for (var k = 0; k < 2; k++)
        {
            var pixels = new byte[24 * 20];
            random.NextBytes(pixels);
            using (var bitmap = new SKBitmap(new SKImageInfo(24, 20, SKColorType.Gray8, SKAlphaType.Opaque)))
            {
                System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
                using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                using var file = File.Create(Path.Combine(folder, $"{k}.png"));
                data.SaveTo(file);
            }
            using var gray = tensor(pixels, [1, 20, 24]).to(float32).div(255);
            using var rgb = gray.expand(3, -1, -1).contiguous();
            ImageFiles.SavePng(rgb, Path.Combine(rgbFolder, $"{k}.png"));
        }
        var fromGray = ImageSetFeatures.Compute(network, ImageSetFeatures.ListImages(folder), cancellationToken: TestContext.Current.CancellationToken);
        var fromRgb = ImageSetFeatures.Compute(network, ImageSetFeatures.ListImages(rgbFolder), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(512, fromGray.Dimension);
        for (var i = 0; i < fromGray.Mean.Length; i++) Assert.Equal(fromRgb.Mean[i], fromGray.Mean[i], 1e-5);
    }

    [Fact]
    public void Real_statistics_are_cached_by_network_and_contents()
    {
        var real = NoiseFolder("real", 4, 8);
        var files = ImageSetFeatures.ListImages(real);
        var cache = Path.Combine(dir, "cache");
        var (first, firstCached) = ImageSetFeatures.ComputeCached(network, files, cache, cancellationToken: TestContext.Current.CancellationToken);
        var (second, secondCached) = ImageSetFeatures.ComputeCached(network, files, cache, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(firstCached);
        Assert.True(secondCached);
        Assert.Equal(first.Mean, second.Mean);
        Assert.Equal(first.Covariance, second.Covariance);
        Assert.Equal(4, second.Count);
        var path = Assert.Single(Directory.GetFiles(cache));
        Assert.StartsWith("resnet18-imagenet-onnx-", Path.GetFileName(path));

        // Same names, different pixels: a different key.
        var key = ImageSetFeatures.CacheKey(network, files);
        using (var other = ones(3, 32, 32) * 0.25) ImageFiles.SavePng(other, files[0]);
        Assert.NotEqual(key, ImageSetFeatures.CacheKey(network, files));
        var (changed, changedCached) = ImageSetFeatures.ComputeCached(network, files, cache, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(changedCached);
        Assert.NotEqual(first.Mean, changed.Mean);
    }

    [Fact]
    public void Describe_names_the_metric_network_resize_and_counts()
    {
        var report = FrechetReport.Create("FD-ResNet18", "ResNet18 (ImageNet, ONNX)", "bilinear 224", "p", 100, 90,
            new FrechetDistanceResult(12.345, 1, 2, 3, 4, false, null));
        Assert.Equal("FD-ResNet18 12.35 (ResNet18 (ImageNet, ONNX), bilinear 224, 100 real vs 90 generated images)", report.Describe());
        Assert.Equal(2, report.TraceReal);
        var nearZero = report with { Value = -2e-5 };
        Assert.StartsWith("FD-ResNet18 0.00 (", nearZero.Describe());
        Assert.Equal(3, report.TraceGenerated);
    }
}
