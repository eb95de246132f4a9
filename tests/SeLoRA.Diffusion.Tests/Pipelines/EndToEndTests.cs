using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Pipelines;

/// <summary>
/// The whole chain wired together: a tiny model trained briefly on two prompts, then sampled with guidance.
/// One fixture trains once; the tests sample it with each scheduler.
/// </summary>
public sealed class TrainedTinyModel : IDisposable
{
    public const int Size = 32;
    public readonly string Folder = Directory.CreateTempSubdirectory("selora-e2e-").FullName;
    public StableDiffusionModels Models { get; }
    public List<string> Log { get; } = [];

    public TrainedTinyModel()
    {
        TorchRuntime.EnsureLoaded();
        var tokenizerFolder = Path.Combine(Folder, "tokenizer-src");
        ClipVocabularyBuilder.WriteFolder(ClipVocabularyBuilder.Learn(["black square", "white square"], merges: 16), tokenizerFolder);
        Models = StableDiffusionModels.Create(ModelPresets.Tiny, tokenizerFolder, seed: 1);
        TrainVae();
        TrainUnet();
    }

    /// <summary>The random VAE must first learn to carry brightness, or decoded images could not follow the prompt.</summary>
    void TrainVae()
    {
        var vae = Models.Vae;
        using var optimizer = optim.Adam(vae.parameters(), lr: 2e-3);
        var generator = new Generator(11);
        for (var step = 0; step < 150; step++)
        {
            using var scope = NewDisposeScope();
            var level = rand(new long[] { 8, 1, 1, 1 }, generator: generator) * 2 - 1;
            var images = level.expand(8, 3, Size, Size);
            using var posterior = vae.Encode(images);
            var loss = nn.functional.mse_loss(vae.Decode(posterior.Mean), images);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            if (step % 50 == 49) Log.Add($"vae step {step + 1}: loss {loss.item<float>():F4}");
        }
        foreach (var p in vae.parameters()) p.requires_grad = false;
        foreach (var p in Models.TextEncoder.parameters()) p.requires_grad = false;
    }

    void TrainUnet()
    {
        var prompts = new[] { "black square", "white square" };
        Tensor latents, contexts;
        using (no_grad())
        {
            using var images = stack([full(new long[] { 3, Size, Size }, -1f), full(new long[] { 3, Size, Size }, 1f)]);
            using var posterior = Models.Vae.Encode(images);
            latents = posterior.Mean * Models.Vae.Config.ScalingFactor;
            using var roundTrip = Models.Vae.Decode(latents / Models.Vae.Config.ScalingFactor);
            Log.Add($"decoded true latents: black {roundTrip[0].mean().item<float>():F3}, white {roundTrip[1].mean().item<float>():F3}");
            Log.Add($"latents: black mean {latents[0].mean().item<float>():F3}, white mean {latents[1].mean().item<float>():F3}, std {latents.std().item<float>():F3}");
            var ids = Models.Tokenizer.EncodeBatch([.. prompts, ""]).ToTensor();
            contexts = Models.TextEncoder.forward(ids);
        }
        var ddpm = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
        using var optimizer = optim.Adam(Models.Unet.parameters(), lr: 2e-3);
        var generator = new Generator(12);
        for (var step = 0; step < 800; step++)
        {
            using var scope = NewDisposeScope();
            var which = randint(0, 2, new long[] { 8 }, generator: generator);
            // Drop the prompt a fifth of the time so the unconditional branch of guidance is learned.
            var dropped = rand(new long[] { 8 }, generator: generator).lt(0.2);
            var contextIndex = where(dropped, full_like(which, 2), which);
            var x0 = latents.index_select(0, which);
            var noise = randn(x0.shape, generator: generator);
            var t = randint(0, 1000, new long[] { 8 }, generator: generator);
            var prediction = Models.Unet.forward(ddpm.AddNoise(x0, noise, t), t, contexts.index_select(0, contextIndex));
            var loss = nn.functional.mse_loss(prediction, noise);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            if (step % 200 == 199) Log.Add($"unet step {step + 1}: loss {loss.item<float>():F4}");
        }
        latents.Dispose();
        contexts.Dispose();
    }

    public void Dispose()
    {
        Models.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}

public sealed class EndToEndTests(TrainedTinyModel model, ITestOutputHelper output) : IClassFixture<TrainedTinyModel>
{
    static GenerationRequest Request(string scheduler) => new()
    {
        Prompts = ["black square", "white square"],
        Steps = 20,
        Guidance = 3.0,
        Seed = 5,
        Height = TrainedTinyModel.Size,
        Width = TrainedTinyModel.Size,
        BatchSize = 2,
        ImagesPerPrompt = 2,
        Scheduler = scheduler,
    };

    [Theory]
    [InlineData("pndm")]
    [InlineData("ddim")]
    public void Guided_images_follow_the_prompt_brightness(string scheduler)
    {
        foreach (var line in model.Log) output.WriteLine(line);
        var pipeline = new StableDiffusionPipeline(model.Models);
        var images = pipeline.Generate(Request(scheduler));
        try
        {
            Assert.Equal(4, images.Count);
            var brightness = images.Select(i => i.mean().item<float>()).ToArray();
            output.WriteLine($"{scheduler}: mean brightness black {brightness[0]:F3} {brightness[1]:F3}, white {brightness[2]:F3} {brightness[3]:F3}");
            // Every black-square image darker than every white-square one, by a clear margin, on both sides of mid-grey.
            Assert.True(brightness[..2].Max() + 0.25f < brightness[2..].Min(), "brightness does not follow the prompt");
            Assert.True(brightness[..2].Average() < 0.4, $"'black square' images average {brightness[..2].Average():F3}");
            Assert.True(brightness[2..].Average() > 0.6, $"'white square' images average {brightness[2..].Average():F3}");
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
    }

    [Fact]
    public void Results_are_seeded_and_do_not_depend_on_the_batch_size()
    {
        var pipeline = new StableDiffusionPipeline(model.Models);
        var single = pipeline.Generate(Request("ddim") with { BatchSize = 1, Steps = 4 });
        var batched = pipeline.Generate(Request("ddim") with { BatchSize = 4, Steps = 4 });
        var other = pipeline.Generate(Request("ddim") with { BatchSize = 4, Steps = 4, Seed = 6 });
        try
        {
            for (var i = 0; i < 4; i++)
                Assert.True(allclose(single[i], batched[i], rtol: 0, atol: 1e-5), $"image {i} changed with the batch size");
            Assert.False(allclose(single[0], other[0], rtol: 0, atol: 1e-5));
        }
        finally
        {
            foreach (var image in single.Concat(batched).Concat(other)) image.Dispose();
        }
    }

    [Fact]
    public void Images_are_written_as_png_files_and_the_model_saves_and_reloads_exactly()
    {
        var pipeline = new StableDiffusionPipeline(model.Models);
        var folder = Path.Combine(model.Folder, "images");
        var paths = pipeline.GenerateToFolder(Request("ddim") with { Steps = 2, ImagesPerPrompt = 1 }, folder);
        Assert.Equal(["0000_black-square.png", "0001_white-square.png"], paths.Select(Path.GetFileName));

        var saved = Path.Combine(model.Folder, "pipeline");
        model.Models.Save(saved);
        using var reloaded = StableDiffusionModels.Load(saved);
        foreach (var (original, copy) in new (nn.Module, nn.Module)[]
                 { (model.Models.Unet, reloaded.Unet), (model.Models.Vae, reloaded.Vae), (model.Models.TextEncoder, reloaded.TextEncoder) })
        {
            var a = original.state_dict();
            var b = copy.state_dict();
            Assert.Equal(a.Keys, b.Keys);
            foreach (var key in a.Keys) Assert.True(a[key].shape.SequenceEqual(b[key].shape) && a[key].eq(b[key]).all().item<bool>(), key);
        }
        Assert.Equal(model.Models.Tokenizer.Encode("white square"), reloaded.Tokenizer.Encode("white square"));
    }

    [Fact]
    public void Bad_requests_name_the_field()
    {
        var pipeline = new StableDiffusionPipeline(model.Models);
        Assert.Contains("height", Assert.Throws<ArgumentException>(() => pipeline.Generate(Request("ddim") with { Height = 30 })).Message);
        Assert.Contains("steps", Assert.Throws<ArgumentException>(() => pipeline.Generate(Request("ddim") with { Steps = 0 })).Message);
        Assert.Contains("euler", Assert.ThrowsAny<Exception>(() => pipeline.Generate(Request("euler"))).Message);
    }
}
