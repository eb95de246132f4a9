using SeLoRA.Evaluation.Preprocessing;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Preprocessing;

public class InceptionPreprocessingTests
{
    // A 2 x 3 image; channel c holds base + c / 10 so the channels differ.
    static readonly float[,] Base = { { 0.0f, 0.2f, 0.6f }, { 0.3f, 0.5f, 0.8f } };

    static Tensor TinyImage()
    {
        var data = new float[3 * 2 * 3];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < 2; y++)
                for (var x = 0; x < 3; x++)
                    data[c * 6 + y * 3 + x] = Base[y, x] + c / 10f;
        return tensor(data, [1, 3, 2, 3]);
    }

    /// <summary>Bilinear with half-pixel centres (align_corners = false): src = (dst + 0.5) * in / out - 0.5, clamped at 0.</summary>
    static double Hand(int c, int oy, int ox)
    {
        static (int I0, int I1, double L) Source(int dst, int inSize)
        {
            var src = Math.Max((dst + 0.5) * inSize / 299.0 - 0.5, 0);
            var i0 = (int)Math.Floor(src);
            return (i0, Math.Min(i0 + 1, inSize - 1), src - i0);
        }
        var (y0, y1, ly) = Source(oy, 2);
        var (x0, x1, lx) = Source(ox, 3);
        double V(int y, int x) => Base[y, x] + c / 10.0;
        return (1 - ly) * ((1 - lx) * V(y0, x0) + lx * V(y0, x1)) + ly * ((1 - lx) * V(y1, x0) + lx * V(y1, x1));
    }

    [Fact]
    public void ResizeTo299MatchesHandComputedBilinearPixels()
    {
        using var image = TinyImage();
        using var resized = InceptionPreprocessing.Resize(image);
        Assert.Equal([1L, 3, 299, 299], resized.shape);
        var data = resized.data<float>().ToArray();
        float At(int c, int y, int x) => data[c * 299 * 299 + y * 299 + x];

        // Worked by hand: corners copy the corner pixels (the source index is clamped); output row 149 sits exactly
        // between the two input rows (149.5 * 2 / 299 - 0.5 = 0.5) and output column 149 exactly on input column 1
        // (149.5 * 3 / 299 - 0.5 = 1).
        Assert.Equal(0.0f, At(0, 0, 0), 1e-6f);
        Assert.Equal(0.8f, At(0, 298, 298), 1e-6f);
        Assert.Equal((0.2f + 0.5f) / 2, At(0, 149, 149), 1e-6f);
        Assert.Equal((0.2f + 0.5f) / 2 + 0.2f, At(2, 149, 149), 1e-6f);

        foreach (var (c, y, x) in new[] { (0, 0, 0), (0, 10, 37), (1, 100, 120), (2, 200, 250), (1, 298, 0), (0, 74, 223), (2, 150, 50) })
            Assert.True(Math.Abs(Hand(c, y, x) - At(c, y, x)) < 1e-6, $"pixel ({c},{y},{x}): {At(c, y, x)} vs hand {Hand(c, y, x)}");
    }

    [Fact]
    public void ApplyResizesThenMapsToMinusOneOne()
    {
        using var image = TinyImage();
        using var output = InceptionPreprocessing.Apply(image);
        var data = output.data<float>().ToArray();
        Assert.Equal(2 * Hand(1, 100, 120) - 1, data[299 * 299 + 100 * 299 + 120], 1e-5);
        Assert.Equal(-1f, data[0], 1e-6f);
    }

    [Fact]
    public void RejectsWrongShapesAndRanges()
    {
        using var gray = zeros(1, 1, 8, 8);
        Assert.Throws<ArgumentException>(() => InceptionPreprocessing.Apply(gray));
        using var signed = full(1, 3, 4, 4, -0.5f);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() => InceptionPreprocessing.Apply(signed)).Message);
        using var unchecked_ = InceptionPreprocessing.Apply(signed, checkRange: false);
        Assert.Equal(-2f, unchecked_.data<float>()[0], 1e-6f);
    }
}
