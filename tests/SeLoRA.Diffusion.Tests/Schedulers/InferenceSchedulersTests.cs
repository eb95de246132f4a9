using SeLoRA.Diffusion.Schedulers;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Schedulers;

public class InferenceSchedulersTests
{
    [Theory]
    [InlineData("pndm", typeof(PndmScheduler))]
    [InlineData("DDIM", typeof(DdimScheduler))]
    [InlineData(" ddim ", typeof(DdimScheduler))]
    public void CreatesByName(string name, Type expected)
    {
        using var scheduler = InferenceSchedulers.Create(name, SchedulerConfig.StableDiffusion15);
        Assert.IsType(expected, scheduler);
        Assert.Equal(name.Trim().ToLowerInvariant(), scheduler.Name);
        Assert.Same(SchedulerConfig.StableDiffusion15, scheduler.Config);
        scheduler.SetTimesteps(50);
        Assert.Equal(981, scheduler.Timesteps[0]);
        Assert.Equal(1, scheduler.Timesteps[^1]);
        using var x = SchedulerFixtures.DummySampleDeter();
        using var scaled = scheduler.ScaleModelInput(x, 981);
        Assert.Equal(0.0, SchedulerFixtures.MaxAbsDiff(scaled, x));
    }

    [Fact]
    public void UnknownNamesAndMisplacedEtaAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => InferenceSchedulers.Create("euler", SchedulerConfig.StableDiffusion15));
        Assert.Contains("pndm", e.Message);
        Assert.Contains("ddim", e.Message);
        Assert.Throws<ArgumentException>(() => InferenceSchedulers.Create("pndm", SchedulerConfig.StableDiffusion15, 0.5, null));
        using var g = new Generator(1);
        using var ddim = InferenceSchedulers.Create("ddim", SchedulerConfig.StableDiffusion15, 0.5, g);
        Assert.Equal(0.5, ((DdimScheduler)ddim).Eta);
    }

    [Fact]
    public void ClassifierFreeGuidanceCombines()
    {
        using var uncond = tensor(new[] { 1f, 2f, -1f });
        using var text = tensor(new[] { 2f, 2f, 1f });
        using var guided = ClassifierFreeGuidance.Combine(uncond, text, 7.5);
        Assert.Equal([8.5f, 2f, 14f], guided.data<float>().ToArray());
        using var one = ClassifierFreeGuidance.Combine(uncond, text, 1.0);
        Assert.Equal(text.data<float>().ToArray(), one.data<float>().ToArray());

        using var batched = stack([uncond, text]);
        using var fromBatch = ClassifierFreeGuidance.CombineBatched(batched, 7.5);
        Assert.Equal([1L, 3], fromBatch.shape);
        Assert.Equal(guided.data<float>().ToArray(), fromBatch.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => ClassifierFreeGuidance.CombineBatched(uncond.unsqueeze(0), 7.5));
    }
}
