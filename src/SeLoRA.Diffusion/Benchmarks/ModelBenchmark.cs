using System.Diagnostics;
using SeLoRA.Diffusion.Models;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Torch;
using SeLoRA.Torch.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Benchmarks;

/// <summary>One forward and backward pass of a frozen U-Net and text encoder, with gradients flowing through both.</summary>
public sealed record PassMeasurement(string Preset, string DType, int Resolution, int Batch, TimeSpan Elapsed, long ModelBytes,
    long PeakIncreaseBytes, long PeakResidentBytes, long AdapterParameters);

/// <summary>Training throughput of a small model.</summary>
public sealed record ThroughputMeasurement(string Preset, int Resolution, int Batch, int Steps, TimeSpan Elapsed)
{
    public double ImagesPerSecond => Steps * Batch / Elapsed.TotalSeconds;
}

/// <summary>The measurements behind `selora bench model`.</summary>
public static class ModelBenchmark
{
    /// <summary>
    /// Builds the preset's U-Net and text encoder with random weights, freezes them, and times one forward + backward
    /// of the epsilon loss. The smallest parameter at the bottom of each model (conv_in, position_embedding) takes a
    /// gradient, so backward runs through every layer, as adapters spread over the model will need.
    /// </summary>
    /// <param name="attachAdapters">
    /// Optional: wraps layers of the frozen (text encoder, U-Net) with adapters and returns their trainable parameter count;
    /// the adapters then carry the gradients instead of conv_in and position_embedding. The adapters take the pass's dtype.
    /// </param>
    public static PassMeasurement FrozenPass(string preset, ScalarType dtype, int resolution, int batch, int vaeFactor = 8,
        Func<ClipTextModel, Unet2DConditionModel, long>? attachAdapters = null)
    {
        TorchRuntime.EnsureLoaded();
        PeakMemorySampler.TrimProcessHeap();
        manual_seed(0);
        using var unet = new Unet2DConditionModel(Unet2DConditionConfig.FromJson(ModelPresets.ConfigElement(preset, "unet"), $"{preset}/unet"));
        using var text = new ClipTextModel(ClipTextConfig.FromJson(ModelPresets.ConfigElement(preset, "text_encoder"), $"{preset}/text_encoder"));
        foreach (var p in unet.parameters().Concat(text.parameters())) p.requires_grad = false;
        var adapterParameters = attachAdapters?.Invoke(text, unet) ?? 0;
        unet.to(dtype);
        text.to(dtype);
        var modelBytes = unet.parameters().Concat(text.parameters()).Sum(p => p.numel() * p.element_size());
        if (attachAdapters is null)
        {
            unet.named_parameters().First(p => p.name == "conv_in.weight").parameter.requires_grad = true;
            text.named_parameters().First(p => p.name.EndsWith("position_embedding.weight", StringComparison.Ordinal)).parameter.requires_grad = true;
        }

        using var scope = NewDisposeScope();
        var generator = new Generator(1);
        var latentSide = resolution / vaeFactor;
        var ids = randint(0, text.Config.VocabSize, new long[] { batch, 77 }, generator: generator);
        var latents = randn(new long[] { batch, 4, latentSide, latentSide }, generator: generator).to(dtype);
        var noise = randn(latents.shape, generator: generator).to(dtype);
        var timesteps = randint(0, 1000, new long[] { batch }, generator: generator);
        PeakMemorySampler.TrimProcessHeap();
        var watch = Stopwatch.StartNew();
        var sampler = new PeakMemorySampler();
        try
        {
            var context = text.forward(ids);
            var prediction = unet.forward(latents, timesteps, context);
            var loss = nn.functional.mse_loss(prediction.to(float32), noise.to(float32));
            loss.backward();
        }
        finally
        {
            watch.Stop();
            sampler.Dispose();
        }
        return new PassMeasurement(preset, dtype.ToString(), resolution, batch, watch.Elapsed, modelBytes, sampler.PeakIncreaseBytes,
            sampler.PeakBytes, adapterParameters);
    }

    /// <summary>Trains the tiny preset's U-Net (full fine-tuning, frozen VAE and text encoder) on random images and prompts.</summary>
    public static ThroughputMeasurement TinyTraining(int resolution = 64, int batch = 8, int steps = 20)
    {
        TorchRuntime.EnsureLoaded();
        var vocabFolder = Directory.CreateTempSubdirectory("selora-bench-vocab-").FullName;
        try
        {
            ClipVocabularyBuilder.WriteFolder(ClipVocabularyBuilder.Learn(["no acute cardiopulmonary abnormality"], 16), vocabFolder);
            using var models = StableDiffusionModels.Create(ModelPresets.Tiny, vocabFolder, seed: 0);
            foreach (var p in models.Vae.parameters().Concat(models.TextEncoder.parameters())) p.requires_grad = false;
            var ddpm = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
            using var optimizer = optim.Adam(models.Unet.parameters(), lr: 1e-4, beta1: 0.9, beta2: 0.999);
            var generator = new Generator(2);
            var ids = models.Tokenizer.EncodeBatch(Enumerable.Repeat("no acute cardiopulmonary abnormality", batch).ToList()).ToTensor();
            TimeSpan elapsed = default;
            for (var step = -2; step < steps; step++) // two warm-up steps
            {
                var watch = Stopwatch.StartNew();
                using var scope = NewDisposeScope();
                var images = rand(new long[] { batch, 3, resolution, resolution }, generator: generator) * 2 - 1;
                Tensor latents, context;
                using (no_grad())
                {
                    using var posterior = models.Vae.Encode(images);
                    latents = posterior.Sample(generator) * models.Vae.Config.ScalingFactor;
                    context = models.TextEncoder.forward(ids);
                }
                var noise = randn(latents.shape, generator: generator);
                var t = randint(0, 1000, new long[] { batch }, generator: generator);
                var loss = nn.functional.mse_loss(models.Unet.forward(ddpm.AddNoise(latents, noise, t), t, context), noise);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                if (step >= 0) elapsed += watch.Elapsed;
            }
            return new ThroughputMeasurement(ModelPresets.Tiny, resolution, batch, steps, elapsed);
        }
        finally
        {
            Directory.Delete(vocabFolder, recursive: true);
        }
    }
}
