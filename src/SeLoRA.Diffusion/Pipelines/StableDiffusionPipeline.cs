using SeLoRA.Torch.Randomness;
using SeLoRA.Diffusion.Imaging;
using SeLoRA.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Pipelines;

/// <summary>
/// Text to image: CLIP-encode the prompts (and the negative or empty prompt), denoise seeded latents with the chosen
/// scheduler under classifier-free guidance, decode with the VAE. Image k's starting noise comes from its own generator
/// (seed, k), so results do not depend on the batch size.
/// </summary>
public sealed class StableDiffusionPipeline(StableDiffusionModels models, Device? device = null)
{
    readonly Device _device = device ?? CPU;

    public StableDiffusionModels Models { get; } = models;

    /// <summary>Images [3, H, W] in [0, 1], prompt-major (all images of prompt 0, then prompt 1, ...). The caller disposes them.</summary>
    public IReadOnlyList<Tensor> Generate(GenerationRequest request, IProgress<GenerationProgress>? progress = null)
    {
        var factor = Models.Vae.Config.DownsampleFactor;
        request.Validate(factor);
        var schedulerConfig = SchedulerConfig.FromJson(System.Text.Json.JsonSerializer.SerializeToElement(Models.SchedulerConfig), "scheduler/scheduler_config.json");
        var jobs = request.Prompts.SelectMany(p => Enumerable.Repeat(p, request.ImagesPerPrompt)).ToList();
        var images = new List<Tensor>(jobs.Count);
        var wasTraining = (Models.TextEncoder.training, Models.Unet.training, Models.Vae.training);
        Models.TextEncoder.eval();
        Models.Unet.eval();
        Models.Vae.eval();
        try
        {
            using var _ = no_grad();
            using var scheduler = InferenceSchedulers.Create(request.Scheduler, schedulerConfig);
            for (var start = 0; start < jobs.Count; start += request.BatchSize)
            {
                var count = Math.Min(request.BatchSize, jobs.Count - start);
                using var scope = NewDisposeScope();
                var batch = GenerateBatch(jobs.GetRange(start, count), start, request, scheduler, factor, progress, jobs.Count);
                foreach (var image in batch.unbind(0)) images.Add(image.MoveToOuterDisposeScope());
            }
            return images;
        }
        catch
        {
            foreach (var image in images) image.Dispose();
            throw;
        }
        finally
        {
            Models.TextEncoder.train(wasTraining.Item1);
            Models.Unet.train(wasTraining.Item2);
            Models.Vae.train(wasTraining.Item3);
        }
    }

    /// <summary>Generates and writes one PNG per image, named by index and prompt; returns the paths.</summary>
    public IReadOnlyList<string> GenerateToFolder(GenerationRequest request, string folder, IProgress<GenerationProgress>? progress = null)
    {
        Directory.CreateDirectory(folder);
        var images = Generate(request, progress);
        var paths = new List<string>();
        try
        {
            for (var i = 0; i < images.Count; i++)
            {
                var prompt = request.Prompts[i / request.ImagesPerPrompt];
                var path = Path.Combine(folder, $"{i:D4}_{Slug(prompt)}.png");
                ImageFiles.SavePng(images[i], path);
                paths.Add(path);
            }
            return paths;
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
    }

    Tensor GenerateBatch(List<string> prompts, int firstIndex, GenerationRequest request, IInferenceScheduler scheduler, int factor,
        IProgress<GenerationProgress>? progress, int total)
    {
        var guided = request.Guidance > 1.0;
        var conditional = EncodePrompts(prompts);
        var context = guided ? cat([EncodePrompts(Enumerable.Repeat(request.NegativePrompt, prompts.Count).ToList()), conditional], 0) : conditional;

        var shape = new long[] { 1, Models.Vae.Config.LatentChannels, request.Height / factor, request.Width / factor };
        var latents = cat(prompts.Select((_, i) =>
            randn(shape, generator: new Generator(unchecked((ulong)SeedFor(request.Seed, firstIndex + i))))).ToArray(), 0).to(_device);
        scheduler.SetTimesteps(request.Steps);
        latents = latents * scheduler.InitNoiseSigma;

        var timesteps = scheduler.Timesteps;
        for (var s = 0; s < timesteps.Length; s++)
        {
            using var step = NewDisposeScope();
            var t = timesteps[s];
            var input = scheduler.ScaleModelInput(guided ? cat([latents, latents], 0) : latents, t);
            var prediction = Models.Unet.forward(input, tensor(t, device: _device), context);
            if (guided)
            {
                var halves = prediction.chunk(2, 0);
                prediction = ClassifierFreeGuidance.Combine(halves[0], halves[1], request.Guidance);
            }
            latents = step.MoveToOuter(scheduler.Step(prediction, t, latents));
            progress?.Report(new GenerationProgress(firstIndex, prompts.Count, total, s + 1, timesteps.Length));
        }
        var decoded = Models.Vae.Decode(latents / Models.Vae.Config.ScalingFactor);
        return decoded.div(2).add(0.5).clamp(0, 1).cpu();
    }

    Tensor EncodePrompts(IReadOnlyList<string> prompts)
    {
        var ids = Models.Tokenizer.EncodeBatch(prompts).ToTensor(_device);
        return Models.TextEncoder.forward(ids);
    }

    /// <summary>SplitMix64 of (seed, index): image k's noise is the same whatever batch it falls in.</summary>
    public static long SeedFor(long seed, long index)
    {
        var z = unchecked((ulong)seed * SplitMix64.Golden + (ulong)index + 0x632BE59BD9B4E019UL);
        return unchecked((long)(SplitMix64.Mix(z) & 0x7FFFFFFFFFFFFFFFUL));
    }

    static string Slug(string prompt)
    {
        var slug = new string(prompt.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        while (slug.Contains("--", StringComparison.Ordinal)) slug = slug.Replace("--", "-", StringComparison.Ordinal);
        return slug.Length > 48 ? slug[..48] : slug.Length == 0 ? "empty" : slug;
    }
}

/// <summary>Progress of a generation: images [First, First + Count) of Total are at denoising step Step of Steps.</summary>
public sealed record GenerationProgress(int First, int Count, int Total, int Step, int Steps);
