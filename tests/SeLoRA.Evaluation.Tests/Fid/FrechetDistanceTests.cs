using SeLoRA.Evaluation.Fid;

namespace SeLoRA.Evaluation.Tests.Fid;

public class FrechetDistanceTests
{
    static FeatureStatistics Stats(double[] mu, double[] sigma) => new(100, mu, sigma);

    static double[] Diagonal(double[] diag)
    {
        var d = diag.Length;
        var s = new double[d * d];
        for (var i = 0; i < d; i++) s[i * d + i] = diag[i];
        return s;
    }

    [Fact]
    public void IdenticalFeatureSetsGiveZero()
    {
        var features = FrechetReference.RandomFeatures(new Random(1), 400, 16, offset: 3);
        var a = FeatureStatistics.FromFeatures(features);
        var b = FeatureStatistics.FromFeatures(features);
        var result = FrechetDistance.ComputeDetailed(a, b);
        Assert.False(result.EpsilonApplied);
        Assert.InRange(result.Distance, -1e-9, 1e-9);
    }

    [Fact]
    public void DiagonalGaussiansGiveTheClosedForm()
    {
        double[] mu1 = [0.5, -1, 2, 0, 3, -0.25];
        double[] mu2 = [1.5, 0, -2, 0.5, 3, 0.75];
        double[] s1 = [1, 4, 0.25, 9, 2, 0.01];
        double[] s2 = [4, 1, 1, 9, 0.5, 16];
        var expected = 0.0;
        for (var i = 0; i < mu1.Length; i++)
        {
            expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
            expected += (Math.Sqrt(s1[i]) - Math.Sqrt(s2[i])) * (Math.Sqrt(s1[i]) - Math.Sqrt(s2[i]));
        }
        var actual = FrechetDistance.Compute(Stats(mu1, Diagonal(s1)), Stats(mu2, Diagonal(s2)));
        Assert.Equal(expected, actual, 1e-10);
    }

    [Fact]
    public void MeanShiftAddsExactlyDeltaMuSquared()
    {
        var rng = new Random(2);
        const int d = 16;
        var s1 = FrechetReference.ToRowMajor(FrechetReference.RandomSpd(rng, d));
        var s2 = FrechetReference.ToRowMajor(FrechetReference.RandomSpd(rng, d));
        var mu = FrechetReference.RandomVector(rng, d);
        var delta = FrechetReference.RandomVector(rng, d, scale: 2);
        var shifted = mu.Zip(delta, (m, x) => m + x).ToArray();

        var baseDistance = FrechetDistance.Compute(Stats(mu, s1), Stats(mu, s2));
        var shiftedDistance = FrechetDistance.Compute(Stats(mu, s1), Stats(shifted, s2));
        var deltaSquared = delta.Sum(x => x * x);
        Assert.Equal(deltaSquared, shiftedDistance - baseDistance, 1e-10);

        // Same covariance: the distance is the mean term alone.
        Assert.Equal(deltaSquared, FrechetDistance.Compute(Stats(mu, s1), Stats(shifted, s1)), 1e-9);
    }

    [Fact]
    public void IsSymmetricInItsArguments()
    {
        var rng = new Random(3);
        const int d = 32;
        var a = Stats(FrechetReference.RandomVector(rng, d), FrechetReference.ToRowMajor(FrechetReference.RandomSpd(rng, d)));
        var b = Stats(FrechetReference.RandomVector(rng, d), FrechetReference.ToRowMajor(FrechetReference.RandomSpd(rng, d)));
        var ab = FrechetDistance.Compute(a, b);
        var ba = FrechetDistance.Compute(b, a);
        Assert.True(ab > 0);
        Assert.True(Math.Abs(ab - ba) <= 1e-12 * Math.Abs(ab) + 1e-12, $"FD(a,b) = {ab:R}, FD(b,a) = {ba:R}");
    }

    [Theory]
    [InlineData(16, 11)]
    [InlineData(64, 12)]
    public void RandomFullCovariancesAgreeWithMathNet(int d, int seed)
    {
        var rng = new Random(seed);
        var s1 = FrechetReference.RandomSpd(rng, d);
        var s2 = FrechetReference.RandomSpd(rng, d);
        var mu1 = FrechetReference.RandomVector(rng, d);
        var mu2 = FrechetReference.RandomVector(rng, d);

        var actual = FrechetDistance.ComputeDetailed(mu1, FrechetReference.ToRowMajor(s1), mu2, FrechetReference.ToRowMajor(s2));
        var symmetric = FrechetReference.Distance(mu1, s1, mu2, s2);
        var general = FrechetReference.Distance(mu1, s1, mu2, s2, general: true);

        Assert.False(actual.EpsilonApplied);
        AssertRelative(symmetric, actual.Distance, 1e-6);
        AssertRelative(general, actual.Distance, 1e-6);
        // The traces themselves are large next to the distance; they agree far tighter.
        AssertRelative(FrechetReference.TraceSqrtSymmetric(s1, s2), actual.TraceSqrtProduct, 1e-10);
    }

    [Fact]
    public void RankDeficientCovariancesStayFiniteAndAgreeWithMathNet()
    {
        // 10 vectors in 24 dimensions: both covariances are singular, where scipy's sqrtm needs the epsilon fallback.
        var rng = new Random(5);
        var a = FeatureStatistics.FromFeatures(FrechetReference.RandomFeatures(rng, 10, 24));
        var b = FeatureStatistics.FromFeatures(FrechetReference.RandomFeatures(rng, 10, 24));
        var actual = FrechetDistance.ComputeDetailed(a, b);
        Assert.True(double.IsFinite(actual.Distance));
        var expected = FrechetReference.Distance(a.Mean, FrechetReference.ToMatrix(a.Covariance, 24), b.Mean, FrechetReference.ToMatrix(b.Covariance, 24));
        AssertRelative(expected, actual.Distance, 1e-6);
    }

    [Fact]
    public void RejectsMismatchedDimensions()
    {
        var a = Stats([0, 0], Diagonal([1, 1]));
        var b = Stats([0, 0, 0], Diagonal([1, 1, 1]));
        var e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(a, b));
        Assert.Contains("2 and 3", e.Message);
        Assert.Throws<ArgumentException>(() => FrechetDistance.ComputeDetailed([0, 0], Diagonal([1, 1]), [0, 0], [1, 0, 0]));
    }

    [Fact]
    public void RejectsNonFiniteInput()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            FrechetDistance.ComputeDetailed([0, double.NaN], Diagonal([1, 1]), [0, 0], Diagonal([1, 1])));
        Assert.Contains("mu1[1]", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            FrechetDistance.ComputeDetailed([0, 0], Diagonal([1, 1]), [0, 0], [1, 0, 0, double.PositiveInfinity]));
        Assert.Contains("sigma2[3]", e.Message);
        Assert.Throws<ArgumentException>(() => new FeatureStatistics(2, [0, double.NaN], Diagonal([1, 1])));
    }

    static void AssertRelative(double expected, double actual, double relative)
    {
        var error = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(error <= relative, $"expected {expected:R}, got {actual:R}: relative error {error:E2} > {relative:E0}");
    }
}
