using SeLoRA.Diffusion.Pipelines;
using SeLoRA.TestSupport;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Pretraining;

/// <summary>The checked-in base (assets/tiny-base, made by `selora pretrain`) loads and follows a class prompt.</summary>
public sealed class TinyBaseTests(ITestOutputHelper output)
{
    static string Folder => Path.Combine(RepoPaths.Root, "assets", "tiny-base");

    [Fact]
    public void The_checked_in_base_is_small_and_records_how_it_was_made()
    {
        var bytes = new DirectoryInfo(Folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Assert.InRange(bytes, 1_000_000, 5_000_000);
        var record = File.ReadAllText(Path.Combine(Folder, "PRETRAINED.md"));
        Assert.Contains("selora pretrain", record);
        Assert.Contains("dataset-fashion-mnist", record);
    }

    /// <summary>
    /// Fashion-MNIST trousers stand upright and fill the frame from top to bottom; sneakers lie flat in the middle rows.
    /// So the share of an image's brightness in its top quarter of rows separates them robustly: every trouser image
    /// must put more of its brightness there than every sneaker image, by a margin of 0.1 (measured: trousers 0.28, sneakers 0.00).
    /// </summary>
    [Fact]
    public void The_base_draws_trousers_tall_and_sneakers_flat()
    {
        using var models = StableDiffusionModels.Load(Folder);
        var pipeline = new StableDiffusionPipeline(models);
        var images = pipeline.Generate(new GenerationRequest
        {
            Prompts = ["a photo of a sneaker", "a photo of a trouser"],
            Steps = 20, Guidance = 3.0, Seed = 1, Height = 64, Width = 64, BatchSize = 4, ImagesPerPrompt = 2, Scheduler = "ddim",
        });
        try
        {
            var top = images.Select(TopQuarterShare).ToArray();
            output.WriteLine($"top-quarter share: sneaker {top[0]:F3} {top[1]:F3}, trouser {top[2]:F3} {top[3]:F3}");
            Assert.False(allclose(images[0], images[2], rtol: 0, atol: 1e-3), "the prompt does not change the image");
            Assert.True(top[2..].Min() > top[..2].Max() + 0.1, "trouser images should reach the top rows, sneaker images should not");
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
    }

    /// <summary>Brightness above the background level, share in rows 0-15 of 64.</summary>
    static double TopQuarterShare(Tensor image)
    {
        using var scope = NewDisposeScope();
        var mass = (image.mean(new long[] { 0 }) - 0.1).clamp_min(0);
        var total = mass.sum().item<float>();
        return total <= 0 ? 0 : mass[..16].sum().item<float>() / total;
    }
}
