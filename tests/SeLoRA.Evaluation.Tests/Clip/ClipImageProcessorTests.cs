using System.Text.Json;
using SeLoRA.Evaluation.Clip;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Clip;

public class ClipImageProcessorTests
{
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    // Keys' cubic kernel (a = -0.5) at the tap offsets of a 2x downscale, whose support is widened to 4 input pixels.
    const double K025 = 0.8671875, K075 = 0.2265625, K125 = -0.0703125, K175 = -0.0234375;

    static float Normalised(int value, int channel) =>
        ((float)(value * (1.0 / 255)) - (float)ClipImageProcessorConfig.OpenAiMean[channel]) / (float)ClipImageProcessorConfig.OpenAiStd[channel];

    [Fact]
    public void ResizeCropAndNormaliseMatchAHandComputation()
    {
        // 4x8 RGB image whose rows are all equal, so the vertical pass leaves values unchanged. Shortest edge 2:
        // 2 x int(2 * 8 / 4) = 2x4 (a 2x downscale both ways), then a 2x2 centre crop keeps columns 1 and 2.
        int[][] rows =
        [
            [10, 200, 30, 180, 60, 90, 250, 0],
            [255, 0, 255, 0, 128, 128, 7, 77],
            [100, 100, 100, 100, 100, 100, 100, 100],
        ];
        var pixels = new byte[4 * 8 * 3];
        for (var y = 0; y < 4; y++)
            for (var x = 0; x < 8; x++)
                for (var c = 0; c < 3; c++)
                    pixels[(y * 8 + x) * 3 + c] = (byte)rows[c][x];

        // PIL: output column j has centre 2j + 1; input x gets weight kernel((x + 0.5 - centre) / 2), normalised.
        double[] column1 = [K125, K075, K025, K025, K075, K125, K175]; // inputs 0..6
        double[] column2 = [K175, K125, K075, K025, K025, K075, K125]; // inputs 1..7
        int Expected(int[] row, double[] taps, int first)
        {
            double sum = 0, total = taps.Sum();
            for (var k = 0; k < taps.Length; k++) sum += taps[k] / total * row[first + k];
            Assert.True(Math.Abs(sum - Math.Floor(sum) - 0.5) > 0.01, "hand value too close to a rounding tie");
            return (int)Math.Clamp(Math.Round(sum), 0, 255);
        }

        var config = ClipImageProcessorConfig.Default with { ShortestEdge = 2, CropHeight = 2, CropWidth = 2 };
        var processor = new ClipImageProcessor(config);
        Assert.Equal((2, 4), processor.ResizedSize(4, 8));
        using var output = processor.Preprocess(pixels, 4, 8, 3);
        Assert.Equal([3L, 2, 2], output.shape);
        var values = output.data<float>().ToArray();
        for (var c = 0; c < 3; c++)
        {
            var left = Expected(rows[c], column1, 0);
            var right = Expected(rows[c], column2, 1);
            for (var y = 0; y < 2; y++)
            {
                Assert.Equal(Normalised(left, c), values[(c * 2 + y) * 2 + 0], 1e-6);
                Assert.Equal(Normalised(right, c), values[(c * 2 + y) * 2 + 1], 1e-6);
            }
        }
        // The constant channel stays constant: the weights of each output pixel sum to one.
        Assert.Equal(Normalised(100, 2), values[8], 1e-6);
    }

    [Fact]
    public void CentreCropTakesFloorOffsetsWithoutResizing()
    {
        // 5x6 with shortest edge 5: int(5 * 6 / 5) = 6, no resize. Crop 3x3: top = (5 - 3) // 2 = 1, left = (6 - 3) // 2 = 1.
        var pixels = new byte[5 * 6 * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 % 256);
        var processor = new ClipImageProcessor(ClipImageProcessorConfig.Default with { ShortestEdge = 5, CropHeight = 3, CropWidth = 3 });
        using var output = processor.Preprocess(pixels, 5, 6, 3);
        var values = output.data<float>().ToArray();
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < 3; y++)
                for (var x = 0; x < 3; x++)
                    Assert.Equal(Normalised(pixels[((1 + y) * 6 + 1 + x) * 3 + c], c), values[(c * 3 + y) * 3 + x]);
    }

    [Fact]
    public void TensorsInUnitRangeAreQuantisedLikePngs()
    {
        var bytes = new byte[3 * 4 * 4];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 37 % 256);
        using var chw = tensor(bytes, [3, 4, 4]).to(ScalarType.Float32).div(255);
        var hwc = new byte[bytes.Length];
        for (var c = 0; c < 3; c++)
            for (var p = 0; p < 16; p++)
                hwc[p * 3 + c] = bytes[c * 16 + p];
        var processor = new ClipImageProcessor(ClipImageProcessorConfig.Default with { ShortestEdge = 2, CropHeight = 2, CropWidth = 2 });
        using var fromTensor = processor.Preprocess(chw);
        using var fromBytes = processor.Preprocess(hwc, 4, 4, 3);
        Assert.True(Same(fromTensor, fromBytes));

        // Grey images become RGB by repeating the channel, as PIL's convert("RGB").
        using var grey = chw[..1];
        using var greyOut = processor.Preprocess(grey);
        using var repeated = processor.Preprocess(grey.expand(3, 4, 4));
        Assert.Equal(greyOut.data<float>().ToArray(), repeated.data<float>().ToArray());
    }

    [Fact]
    public void DownscalingAConstantImageKeepsItConstant()
    {
        var pixels = Enumerable.Repeat((byte)173, 300 * 200 * 3).ToArray();
        var resized = PilResize.Resize(pixels, 300, 200, 3, 224 * 300 / 200, 224);
        Assert.All(resized, v => Assert.Equal(173, v));
        // An identity resize is a copy.
        var copy = PilResize.Resize(pixels, 300, 200, 3, 300, 200);
        Assert.NotSame(pixels, copy);
        Assert.Equal(pixels, copy);
    }

    [Fact]
    public void ReadsBothPreprocessorConfigLayouts()
    {
        // openai/clip-vit-large-patch14's file: bare integers for size and crop_size.
        using var old = JsonDocument.Parse("""
            { "crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
              "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
              "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224 }
            """);
        var a = ClipImageProcessorConfig.FromJson(old.RootElement);
        Assert.Equal(224, a.ShortestEdge);
        Assert.Equal((224, 224), (a.CropHeight, a.CropWidth));
        Assert.Equal(PilResampleFilter.Bicubic, a.Resample);
        Assert.Equal(ClipImageProcessorConfig.OpenAiMean, a.ImageMean);

        using var current = JsonDocument.Parse("""
            { "crop_size": {"height": 336, "width": 300}, "size": {"shortest_edge": 336}, "resample": 2,
              "do_normalize": false, "image_mean": [0.5, 0.5, 0.5], "rescale_factor": 0.5 }
            """);
        var b = ClipImageProcessorConfig.FromJson(current.RootElement);
        Assert.Equal(336, b.ShortestEdge);
        Assert.Equal((336, 300), (b.CropHeight, b.CropWidth));
        Assert.Equal(PilResampleFilter.Bilinear, b.Resample);
        Assert.False(b.DoNormalize);
        Assert.Equal([0.5, 0.5, 0.5], b.ImageMean);
        Assert.Equal(0.5, b.RescaleFactor);

        using var roundTrip = JsonDocument.Parse(b.ToJson().ToJsonString());
        Assert.Equal(b with { ImageMean = [], ImageStd = [] },
            ClipImageProcessorConfig.FromJson(roundTrip.RootElement) with { ImageMean = [], ImageStd = [] });

        using var nearest = JsonDocument.Parse("""{ "resample": 0 }""");
        Assert.Contains("resample", Assert.Throws<FormatException>(() => ClipImageProcessorConfig.FromJson(nearest.RootElement)).Message);
    }
}
