using SeLoRA.Evaluation.ClipScore;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.ClipScore;

public class ClipScoreMathTests
{
    [Fact]
    public void MatchesHandComputationOnFixedEmbeddings()
    {
        // Pairs: identical directions (cos 1), 45 degrees (cos 1/sqrt 2, with unnormalised lengths), opposite (cos -1),
        // orthogonal (cos 0).
        using var image = tensor(new float[] { 2, 0, 0, 1, 1, 0, 0, 3, 0, 0, 0, 5 }, [4, 3]);
        using var text = tensor(new float[] { 7, 0, 0, 4, 0, 0, 0, -1, 0, 1, 0, 0 }, [4, 3]);
        var result = ClipScoreMath.Compute(image, text);

        double[] expected = [100, 100 / Math.Sqrt(2), -100, 0];
        Assert.Equal(4, result.Count);
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], result.PerSample[i], 1e-4);
        // torchmetrics averages the raw values and clamps only the mean: (100 + 70.71 - 100 + 0) / 4.
        Assert.Equal((100 + 100 / Math.Sqrt(2) - 100) / 4, result.Score, 1e-4);
    }

    [Fact]
    public void NegativeMeanIsClampedToZero()
    {
        using var image = tensor(new float[] { 1, 0, 0, 1, 1, 1 }, [2, 3]);
        using var text = tensor(new float[] { -1, 0, 0, 0, 1, 0 }, [2, 3]);
        var result = ClipScoreMath.Compute(image, text);
        Assert.Equal(-100, result.PerSample[0], 1e-4);
        Assert.Equal(100 / Math.Sqrt(3), result.PerSample[1], 1e-4);
        Assert.Equal(0.0, result.Score);
        Assert.Equal(0.0, ClipScoreMath.Aggregate([-5.0, -1.0]));
        Assert.Equal(3.0, ClipScoreMath.Aggregate([5.0, 1.0]));
    }

    [Fact]
    public void RejectsMismatchedAndDegenerateInputs()
    {
        using var three = zeros(3, 4);
        using var two = ones(2, 4);
        using var otherDim = ones(2, 5);
        Assert.Contains("3 images and 2 texts", Assert.Throws<ArgumentException>(() => ClipScoreMath.Compute(three, two)).Message);
        Assert.Throws<ArgumentException>(() => ClipScoreMath.Compute(two, otherDim));
        using var zeroRow = tensor(new float[] { 1, 1, 1, 1, 0, 0, 0, 0 }, [2, 4]);
        Assert.Contains("embedding 1 is all zeros", Assert.Throws<ArgumentException>(() => ClipScoreMath.Compute(zeroRow, two)).Message);
    }
}
