using Microsoft.ML.OnnxRuntime;
using SeLoRA.Evaluation.FeatureNetworks;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.FeatureNetworks;

/// <summary>One network for the class: loading the 64 MB graph is the slow part.</summary>
public sealed class ResNet18Fixture : IDisposable
{
    public ResNet18FeatureNetwork Network { get; } = new(intraOpThreads: 2);

    public void Dispose() => Network.Dispose();
}

public sealed class ResNet18FeatureNetworkTests(ResNet18Fixture fixture) : IClassFixture<ResNet18Fixture>
{
    readonly ResNet18FeatureNetwork network = fixture.Network;

    static Tensor RandomImages(int n, int side, long seed)
    {
        TorchRuntime.EnsureLoaded();
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        return rand([n, 3, side, side], generator: generator);
    }

    /// <summary>The package's preprocessing graph run on RGB pixels in 0..255, [1, 3, 224, 224], as ML.NET feeds it.</summary>
    static float[] RunPrepGraph(float[] rgb255)
    {
        using var session = new InferenceSession(ResNet18FeatureNetwork.DefaultPreprocessPath);
        using var input = OrtValue.CreateTensorValueFromMemory(rgb255, [1, 3, 224, 224]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, ["OriginalInput"], [input], ["PreprocessedInput"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void Describes_itself_and_gives_512_features_per_image()
    {
        Assert.Equal("ResNet18 (ImageNet, ONNX)", network.Name);
        Assert.Equal(512, network.Dimension);
        Assert.Contains("bilinear", network.Preprocessing);
        Assert.Contains("224", network.Preprocessing);
        Assert.Equal(2, network.IntraOpThreads);
        using var images = RandomImages(3, 64, 1);
        using var features = network.Features(images);
        Assert.Equal([3L, 512L], features.shape);
        Assert.Equal(ScalarType.Float32, features.dtype);
        // The features are an average pool of ReLU outputs: finite and non-negative.
        Assert.True(features.isfinite().all().item<bool>());
        Assert.True(features.min().item<float>() >= 0);
        Assert.True(features.max().item<float>() > 0);
    }

    [Fact]
    public void Features_are_deterministic_and_batch_invariant()
    {
        using var images = RandomImages(3, 96, 2);
        using var batch = network.Features(images);
        using var again = network.Features(images);
        Assert.Equal(0, (batch - again).abs().max().item<float>());
        for (var i = 0; i < 3; i++)
        {
            using var alone = network.Features(images.narrow(0, i, 1));
            var difference = (alone[0] - batch[i]).abs().max().item<float>();
            Assert.True(difference <= 1e-5, $"image {i}: alone vs in a batch differ by {difference}");
        }
    }

    [Fact]
    public void Different_images_give_different_features()
    {
        using var noise = RandomImages(1, 64, 3);
        var ramp = linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64).contiguous();
        using var images = cat([noise, ramp, ones(1, 3, 64, 64) * 0.5], 0);
        using var features = network.Features(images);
        for (var i = 0; i < 3; i++)
            for (var j = i + 1; j < 3; j++)
            {
                var distance = (features[i] - features[j]).norm().item<float>();
                var scale = features[i].norm().item<float>();
                Assert.True(distance > 0.05 * scale, $"images {i} and {j}: feature distance {distance} against norm {scale}");
            }
    }

    [Fact]
    public void A_constant_image_preprocesses_to_255_times_its_BGR_values_minus_the_mean_image()
    {
        // Hand computation: a constant image stays constant under any bilinear resize; then x255, the channels reverse
        // (B, G, R) and the package's mean image comes off. Odd 5x7 input, so the resize runs.
        using var image = tensor(new float[] { 0.2f, 0.6f, 1.0f }).view(1, 3, 1, 1).expand(1, 3, 5, 7).contiguous();
        using var prepared = network.Preprocess(image);
        Assert.Equal([1L, 3L, 224L, 224L], prepared.shape);
        var mean = RunPrepGraph(new float[3 * 224 * 224]).Select(v => -v).ToArray(); // -prep(0), from the graph itself
        var got = prepared.data<float>().ToArray();
        double[] bgr = [255 * 1.0, 255 * 0.6, 255 * 0.2];
        var worst = 0.0;
        for (var c = 0; c < 3; c++)
            for (var p = 0; p < 224 * 224; p++)
            {
                var k = c * 224 * 224 + p;
                worst = Math.Max(worst, Math.Abs(got[k] - (bgr[c] - mean[k])));
            }
        Assert.True(worst < 1e-3, $"worst difference {worst}");
    }

    [Fact]
    public void The_mean_image_is_the_ImageNet_mean_in_BGR_order()
    {
        // Independent truth: ImageNet's channel means are about R 123.7, G 116.8, B 103.9 (0..255); the package's per-pixel
        // mean image must average to them in B, G, R order.
        using var mean = network.MeanImage();
        Assert.Equal([3L, 224L, 224L], mean.shape);
        var perChannel = mean.mean([1, 2]).data<float>().ToArray();
        Assert.InRange(perChannel[0], 101, 106);
        Assert.InRange(perChannel[1], 114, 119);
        Assert.InRange(perChannel[2], 121, 126);
        // And it varies over the image (a per-pixel mean, not three constants).
        Assert.True(mean[0].max().item<float>() - mean[0].min().item<float>() > 5);
    }

    [Fact]
    public void Preprocessing_matches_the_packages_preprocessing_graph()
    {
        using var image = RandomImages(1, 224, 4);
        using var prepared = network.Preprocess(image);
        using var rgb255 = (image * 255.0).contiguous();
        var expected = RunPrepGraph(rgb255.data<float>().ToArray());
        var got = prepared.data<float>().ToArray();
        Assert.Equal(expected.Length, got.Length);
        var worst = expected.Zip(got, (e, g) => Math.Abs(e - g)).Max();
        Assert.True(worst < 1e-3, $"worst difference from the graph {worst}");
    }

    [Fact]
    public void Resize_is_bilinear_without_antialias_and_224_passes_through()
    {
        using var small = RandomImages(1, 224, 5);
        // Each pixel doubled into a 2x2 block: bilinear with align_corners=False samples at 2i + 0.5, the mean of two equal
        // pixels, so halving returns the original exactly; an antialiased (triangle-filtered) resize would blur neighbours.
        using var doubled = small.repeat_interleave(2, 2).repeat_interleave(2, 3);
        using var a = network.Preprocess(small);
        using var b = network.Preprocess(doubled);
        Assert.True((a - b).abs().max().item<float>() < 1e-3);
        using var mean = network.MeanImage();
        using var direct = small[0].flip(0) * 255.0 - mean;
        Assert.True((a[0] - direct).abs().max().item<float>() < 1e-3);
    }

    [Fact]
    public void Rejects_images_outside_0_1_and_wrong_shapes()
    {
        using var signed = RandomImages(1, 32, 6) * 2 - 1;
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() => network.Features(signed)).Message);
        using var gray = rand(1, 1, 32, 32);
        Assert.Throws<ArgumentException>(() => network.Features(gray));
    }

    [Fact]
    public void A_missing_onnx_file_is_an_error_naming_the_path()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir-resnet", "ResNet18.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => new ResNet18FeatureNetwork(missing, ResNet18FeatureNetwork.DefaultPreprocessPath));
        Assert.Contains(missing, e.Message);
        var prepMissing = Path.Combine(Path.GetTempPath(), "no-such-dir-resnet", "ResNetPreprocess.onnx");
        var e2 = Assert.Throws<FileNotFoundException>(() => new ResNet18FeatureNetwork(ResNet18FeatureNetwork.DefaultModelPath, prepMissing));
        Assert.Contains(prepMissing, e2.Message);
    }
}
