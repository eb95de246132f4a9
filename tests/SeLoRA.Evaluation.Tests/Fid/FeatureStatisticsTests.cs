using MathNet.Numerics.LinearAlgebra;
using SeLoRA.Evaluation.Fid;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Fid;

public class FeatureStatisticsTests
{
    /// <summary>numpy.mean(axis=0) and numpy.cov(rowvar=False) written out with MathNet in float64.</summary>
    static (double[] Mean, Matrix<double> Cov) Reference(float[][] rows)
    {
        var x = Matrix<double>.Build.Dense(rows.Length, rows[0].Length, (i, j) => rows[i][j]);
        var mean = x.ColumnSums() / rows.Length;
        var centred = x - Matrix<double>.Build.Dense(x.RowCount, x.ColumnCount, (_, j) => mean[j]);
        return (mean.ToArray(), centred.TransposeThisAndMultiply(centred) / (rows.Length - 1));
    }

    static void AssertMatches(float[][] rows, FeatureStatistics stats, double tolerance)
    {
        var (mean, cov) = Reference(rows);
        var d = mean.Length;
        Assert.Equal(rows.Length, stats.Count);
        Assert.Equal(d, stats.Dimension);
        var scale = cov.Diagonal().Maximum();
        for (var i = 0; i < d; i++)
        {
            Assert.True(Math.Abs(mean[i] - stats.Mean[i]) <= tolerance * Math.Max(1, Math.Abs(mean[i])), $"mean[{i}]: {stats.Mean[i]:R} vs {mean[i]:R}");
            for (var j = 0; j < d; j++)
                Assert.True(Math.Abs(cov[i, j] - stats.CovarianceAt(i, j)) <= tolerance * scale, $"cov[{i},{j}]: {stats.CovarianceAt(i, j):R} vs {cov[i, j]:R}");
        }
    }

    [Fact]
    public void MeanAndSampleCovarianceMatchMathNet()
    {
        var rows = FrechetReference.RandomFeatures(new Random(21), 257, 12);
        AssertMatches(rows, FeatureStatistics.FromFeatures(rows), 1e-12);
    }

    [Fact]
    public void BatchedTensorsMatchOneBatch()
    {
        // A large common offset: the naive sum-of-squares formula would lose most digits of the covariance.
        var rows = FrechetReference.RandomFeatures(new Random(22), 301, 10, offset: 1e4);
        using var accumulator = new FeatureStatisticsAccumulator();
        foreach (var chunk in rows.Chunk(64))
        {
            using var batch = tensor(chunk.SelectMany(r => r).ToArray(), [chunk.Length, 10]);
            accumulator.Add(batch);
        }
        Assert.Equal(301, accumulator.Count);
        AssertMatches(rows, accumulator.ToStatistics(), 1e-10);
    }

    [Fact]
    public void HandComputedTwoByTwo()
    {
        // x = (1, 2), (3, 6), (5, 4): mean (3, 4); deviations (-2,-2), (0,2), (2,0); cov = [[8, 4], [4, 8]] / 2.
        var stats = FeatureStatistics.FromFeatures([[1f, 2f], [3f, 6f], [5f, 4f]]);
        Assert.Equal([3.0, 4.0], stats.Mean);
        Assert.Equal([4.0, 2.0, 2.0, 4.0], stats.Covariance);
    }

    [Fact]
    public void SaveAndLoadRoundTrip()
    {
        var stats = FeatureStatistics.FromFeatures(FrechetReference.RandomFeatures(new Random(23), 50, 7));
        var dir = Directory.CreateTempSubdirectory("selora-fid-");
        try
        {
            var path = Path.Combine(dir.FullName, "stats.safetensors");
            stats.Save(path);
            var loaded = FeatureStatistics.Load(path);
            Assert.Equal(stats.Count, loaded.Count);
            Assert.Equal(stats.Mean, loaded.Mean);
            Assert.Equal(stats.Covariance, loaded.Covariance);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void RejectsTooFewRowsMixedDimensionsAndNonFiniteFeatures()
    {
        Assert.Throws<InvalidOperationException>(() => FeatureStatistics.FromFeatures([[1f, 2f]]));
        Assert.Throws<ArgumentException>(() => FeatureStatistics.FromFeatures([[1f, 2f], [1f]]));
        var e = Assert.Throws<ArgumentException>(() => FeatureStatistics.FromFeatures([[1f, 2f], [float.NaN, 1f]]));
        Assert.Contains("NaN", e.Message);
        using var accumulator = new FeatureStatisticsAccumulator();
        using (var a = zeros(3, 4)) accumulator.Add(a);
        using var b = zeros(3, 5);
        e = Assert.Throws<ArgumentException>(() => accumulator.Add(b));
        Assert.Contains("dimension 5", e.Message);
    }
}
