using System.Diagnostics;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Evaluation.FeatureNetworks;
using SeLoRA.Evaluation.Fid;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Benchmarks;

/// <summary>Sizes of <see cref="EvaluationBenchmark.Measure"/>; the defaults take well under a minute on two cores.</summary>
public sealed record EvaluationBenchmarkOptions
{
    /// <summary>Timed ResNet18 images (224x224, no resize); 0 skips it.</summary>
    public int ResNetImages { get; init; } = 16;

    /// <summary>Timed InceptionV3 images (299x299, random weights); 0 skips it.</summary>
    public int InceptionImages { get; init; } = 4;

    /// <summary>Images per feature-network call.</summary>
    public int Batch { get; init; } = 4;

    /// <summary>Dimension of the Fréchet distance timing (pytorch-fid's is 2048); 0 skips it.</summary>
    public int FrechetDimension { get; init; } = 2048;

    /// <summary>Images the tiny model generates (timed after one warm-up image); 0 skips it.</summary>
    public int GenerationImages { get; init; } = 8;

    /// <summary>Denoising steps per generated image.</summary>
    public int GenerationSteps { get; init; } = 10;
}

/// <summary>A feature network's throughput.</summary>
public sealed record FeatureThroughput(string Network, int InputSize, int Images, TimeSpan Elapsed)
{
    public double ImagesPerSecond => Images / Elapsed.TotalSeconds;
}

/// <summary>The tiny model's generation throughput.</summary>
public sealed record GenerationThroughput(string Preset, int Resolution, int Steps, int Images, TimeSpan Elapsed)
{
    public double ImagesPerSecond => Images / Elapsed.TotalSeconds;
}

/// <summary>What `selora bench eval` prints; a part that was skipped is null.</summary>
public sealed record EvaluationBenchmarkResult(
    FeatureThroughput? ResNet18,
    FeatureThroughput? Inception,
    int FrechetDimension,
    TimeSpan? FrechetElapsed,
    GenerationThroughput? Generation,
    int Threads);

/// <summary>
/// The cost of one evaluation's parts on this machine, measured side by side: features/s of the offline ResNet18 (ONNX
/// Runtime) and of pytorch-fid's InceptionV3 (libtorch, random weights: the speed does not depend on them), one Fréchet
/// distance at pytorch-fid's 2048 dimensions, and images/s of the tiny model's generation that feeds them.
/// </summary>
public static class EvaluationBenchmark
{
    /// <param name="log">Receives a line as each part finishes.</param>
    public static EvaluationBenchmarkResult Measure(EvaluationBenchmarkOptions? options = null, Action<string>? log = null)
    {
        options ??= new EvaluationBenchmarkOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.ResNetImages);
        ArgumentOutOfRangeException.ThrowIfNegative(options.InceptionImages);
        ArgumentOutOfRangeException.ThrowIfNegative(options.FrechetDimension);
        ArgumentOutOfRangeException.ThrowIfNegative(options.GenerationImages);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GenerationSteps, 1);
        TorchRuntime.EnsureLoaded();

        FeatureThroughput? resnet = null, inception = null;
        if (options.ResNetImages > 0)
        {
            using var network = new ResNet18FeatureNetwork();
            resnet = Features(network, ResNet18FeatureNetwork.InputSize, options.ResNetImages, options.Batch);
            log?.Invoke($"ResNet18: {resnet.ImagesPerSecond:F1} images/s");
        }
        if (options.InceptionImages > 0)
        {
            manual_seed(0);
            using var network = new FidInceptionV3();
            network.eval();
            inception = Features(network, FidInceptionV3.InputSize, options.InceptionImages, options.Batch);
            log?.Invoke($"InceptionV3: {inception.ImagesPerSecond:F1} images/s");
        }
        TimeSpan? frechet = null;
        if (options.FrechetDimension > 0)
        {
            frechet = TimeFrechet(options.FrechetDimension);
            log?.Invoke($"Fréchet distance at d = {options.FrechetDimension}: {frechet.Value.TotalSeconds:F2} s");
        }
        GenerationThroughput? generation = null;
        if (options.GenerationImages > 0)
        {
            generation = Generation(options.GenerationImages, options.GenerationSteps);
            log?.Invoke($"tiny generation: {generation.ImagesPerSecond:F2} images/s");
        }
        return new EvaluationBenchmarkResult(resnet, inception, options.FrechetDimension, frechet, generation, get_num_threads());
    }

    /// <summary>Features/s of <paramref name="network"/> on random images of side <paramref name="side"/>, after one warm-up call.</summary>
    public static FeatureThroughput Features(IFeatureNetwork network, int side, int images, int batch)
    {
        ArgumentNullException.ThrowIfNull(network);
        var generator = new Generator(1);
        using (var warm = rand([1, 3, side, side], generator: generator))
        using (network.Features(warm)) { }
        var elapsed = TimeSpan.Zero;
        for (var done = 0; done < images; done += batch)
        {
            var count = Math.Min(batch, images - done);
            using var input = rand([count, 3, side, side], generator: generator);
            var watch = Stopwatch.StartNew();
            using (network.Features(input)) { }
            elapsed += watch.Elapsed;
        }
        return new FeatureThroughput(network.Name, side, images, elapsed);
    }

    /// <summary>Time of one <see cref="FrechetDistance.ComputeDetailed(FeatureStatistics, FeatureStatistics, double)"/> between random SPD covariances.</summary>
    public static TimeSpan TimeFrechet(int dimension)
    {
        var (a, b) = RandomStatistics(dimension, seed: 3);
        var watch = Stopwatch.StartNew();
        FrechetDistance.ComputeDetailed(a, b);
        return watch.Elapsed;
    }

    /// <summary>Two statistics with covariances A Aᵀ / d + 0.1 I (symmetric positive definite) and random means.</summary>
    public static (FeatureStatistics A, FeatureStatistics B) RandomStatistics(int dimension, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        TorchRuntime.EnsureLoaded();
        var generator = new Generator((ulong)seed);
        return (One(), One());

        FeatureStatistics One()
        {
            using var scope = NewDisposeScope();
            var factor = randn([dimension, dimension], ScalarType.Float64, generator: generator);
            var covariance = factor.matmul(factor.t()) / dimension + eye(dimension, dtype: ScalarType.Float64) * 0.1;
            var mean = randn([dimension], ScalarType.Float64, generator: generator);
            return new FeatureStatistics(1000, mean.data<double>().ToArray(), covariance.contiguous().data<double>().ToArray());
        }
    }

    /// <summary>Images/s of the tiny preset (random weights) at its native 64 px, guidance 7.5, all images in one batch, after a warm-up image.</summary>
    public static GenerationThroughput Generation(int images, int steps)
    {
        TorchRuntime.EnsureLoaded();
        var vocabFolder = Directory.CreateTempSubdirectory("selora-bench-eval-vocab-").FullName;
        try
        {
            const string prompt = "no acute cardiopulmonary abnormality";
            ClipVocabularyBuilder.WriteFolder(ClipVocabularyBuilder.Learn([prompt], 16), vocabFolder);
            using var models = StableDiffusionModels.Create(ModelPresets.Tiny, vocabFolder, seed: 0);
            var pipeline = new StableDiffusionPipeline(models);
            var side = (int)(models.Unet.Config.SampleSize ?? 8) * models.Vae.Config.DownsampleFactor;
            GenerationRequest Request(int count, long seed) => new()
            {
                Prompts = [prompt],
                ImagesPerPrompt = count,
                BatchSize = count,
                Steps = steps,
                Seed = seed,
                Height = side,
                Width = side,
            };
            foreach (var image in pipeline.Generate(Request(1, 0))) image.Dispose();
            var watch = Stopwatch.StartNew();
            foreach (var image in pipeline.Generate(Request(images, 1))) image.Dispose();
            return new GenerationThroughput(ModelPresets.Tiny, side, steps, images, watch.Elapsed);
        }
        finally
        {
            Directory.Delete(vocabFolder, recursive: true);
        }
    }
}
