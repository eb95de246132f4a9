using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.TestSupport;
using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Steps;

/// <summary>The tiny base with SeLoRA (selora-paper preset) on text encoder and U-Net, an optimizer and a step function.</summary>
sealed class StepFixture : IDisposable
{
    public static readonly string[] Prompts =
    [
        "a photo of a sneaker", "a photo of a trouser", "a photo of a bag",
        "a photo of a dress", "a photo of a shirt", "a photo of a sandal",
    ];

    public StepFixture(ulong seed = 5, int globalBatchSize = 6, double lambda = 1.3, int testInterval = 40, double learningRate = 1e-3)
    {
        Models = StableDiffusionModels.Load(Path.Combine(RepoPaths.Root, "assets", "tiny-base"));
        var targets = AdapterPresets.Get(AdapterPresets.SeLoraPaper);
        var config = new SeLoraConfig { Seed = 11, Lambda = lambda, TestInterval = testInterval };
        var text = AdapterInjector.Inject(Models.TextEncoder, targets.TextEncoderFilter, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config));
        var unet = AdapterInjector.Inject(Models.Unet, targets.UnetFilter, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config), firstIndex: text.Count);
        Layers = [.. text, .. unet];
        var trainable = AdapterInjector.MarkOnlyAdaptersTrainable(Models.TextEncoder).Concat(AdapterInjector.MarkOnlyAdaptersTrainable(Models.Unet)).ToList();
        Optimizer = new AdamOptimizer(trainable, new AdamOptions { LearningRate = learningRate });
        Controller = new SeLoraController(Layers, config, Optimizer);
        var scheduler = new DdpmScheduler(SchedulerConfig.FromJsonText(Models.SchedulerConfig.ToJsonString()));
        Step = new TrainStep(Models.TextEncoder, Models.Unet, scheduler, Optimizer,
            new TrainStepOptions { Seed = seed, GlobalBatchSize = globalBatchSize }, Controller);
        using var generator = new Generator(1234, CPU);
        Latents = (randn(new long[] { globalBatchSize, 4, 8, 8 }, generator: generator) * 0.8f).DetachFromDisposeScope();
        InputIds = Models.Tokenizer.EncodeBatch(Prompts.Take(globalBatchSize).ToList()).ToTensor().DetachFromDisposeScope();
        Batch = new StepBatch(Latents, InputIds, Enumerable.Range(0, globalBatchSize).Select(i => (long)i).ToArray());
    }

    public StableDiffusionModels Models { get; }
    public IReadOnlyList<SeLoraLinear> Layers { get; }
    public AdamOptimizer Optimizer { get; }
    public SeLoraController Controller { get; }
    public TrainStep Step { get; }
    public Tensor Latents { get; }
    public Tensor InputIds { get; }
    public StepBatch Batch { get; }

    public void Dispose()
    {
        Latents.Dispose();
        InputIds.Dispose();
        Optimizer.Dispose();
        Models.Dispose();
    }
}
