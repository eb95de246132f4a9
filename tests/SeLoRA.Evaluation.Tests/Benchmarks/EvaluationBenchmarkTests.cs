using SeLoRA.Evaluation.Benchmarks;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Benchmarks;

public sealed class EvaluationBenchmarkTests
{
    [Fact]
    public void Random_statistics_have_symmetric_positive_definite_covariances()
    {
        var (a, b) = EvaluationBenchmark.RandomStatistics(24, seed: 1);
        Assert.NotEqual(a.Mean, b.Mean);
        foreach (var s in new[] { a, b })
        {
            using var c = tensor(s.Covariance, [24, 24], ScalarType.Float64);
            Assert.Equal(0, (c - c.t()).abs().max().item<double>());
            // A Aᵀ / d + 0.1 I: every eigenvalue at least 0.1.
            Assert.True(linalg.eigvalsh(c).min().item<double>() >= 0.1 - 1e-9);
        }
    }

    [Fact]
    public void Skipped_parts_are_null_and_measured_ones_count_their_images()
    {
        var result = EvaluationBenchmark.Measure(new EvaluationBenchmarkOptions
        {
            ResNetImages = 3, Batch = 2, InceptionImages = 0, FrechetDimension = 16, GenerationImages = 0,
        });
        Assert.NotNull(result.ResNet18);
        Assert.Equal(3, result.ResNet18.Images);
        Assert.Equal(224, result.ResNet18.InputSize);
        Assert.True(result.ResNet18.ImagesPerSecond > 0);
        Assert.Null(result.Inception);
        Assert.Null(result.Generation);
        Assert.NotNull(result.FrechetElapsed);
        Assert.Equal(16, result.FrechetDimension);
    }
}
