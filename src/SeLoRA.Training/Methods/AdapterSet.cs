using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.Persistence;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Runs;
using SeLoRA.Training.Steps;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Training.Methods;

/// <summary>
/// A run's adapters on the text encoder and U-Net for the configured method, with the method's per-step machinery:
/// SeLoRA's controller, DyLoRA's rank draws, AdaLoRA's allocator and regulariser (as <see cref="IStepHooks"/>).
/// Layer indices run over the text encoder first, then the U-Net, in named_modules() order, so every replica and every
/// resume numbers (and therefore seeds) the layers identically.
/// </summary>
public sealed class AdapterSet : IStepHooks, IDisposable
{
    AdapterSet(AdapterMethod method, StableDiffusionModels models, IReadOnlyList<IAdapter> textLayers, IReadOnlyList<IAdapter> unetLayers,
        DyLoraController? dyLora, RankAllocator? allocator, SeLoraConfig? seLoraConfig)
    {
        Method = method;
        Models = models;
        TextEncoderLayers = textLayers;
        UnetLayers = unetLayers;
        DyLora = dyLora;
        Allocator = allocator;
        this.seLoraConfig = seLoraConfig;
    }

    readonly SeLoraConfig? seLoraConfig;

    public AdapterMethod Method { get; }

    public StableDiffusionModels Models { get; }

    public IReadOnlyList<IAdapter> TextEncoderLayers { get; }

    public IReadOnlyList<IAdapter> UnetLayers { get; }

    /// <summary>Every adapter, text encoder first (layer index order).</summary>
    public IReadOnlyList<IAdapter> Layers => [.. TextEncoderLayers, .. UnetLayers];

    public DyLoraController? DyLora { get; }

    public RankAllocator? Allocator { get; }

    /// <summary>The components as adapter files name them (diffusers' "text_encoder" and "unet"), those with adapters only.</summary>
    public IReadOnlyList<AdapterComponent> Components =>
        TextEncoderLayers.Count > 0
            ? [new AdapterComponent(AdapterPresets.TextEncoder, Models.TextEncoder), new AdapterComponent(AdapterPresets.Unet, Models.Unet)]
            : [new AdapterComponent(AdapterPresets.Unet, Models.Unet)];

    public int TotalRank => Layers.Sum(l => l.Rank);

    public long TrainableParameterCount => Layers.Sum(l => l.TrainableParameters().Sum(p => p.numel()));

    /// <summary>Injects the method's adapters into the models (which must hold none yet).</summary>
    /// <param name="totalSteps">The run's optimizer steps (AdaLoRA's budget schedule needs it).</param>
    public static AdapterSet Inject(TrainingConfig config, StableDiffusionModels models, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(models);
        var targets = AdapterPresets.Resolve(config.Targets, adaptTextEncoder: config.AdaptTextEncoder);
        var seed = config.UnsignedSeed;
        switch (config.Method)
        {
            case AdapterMethod.SeLora:
            {
                var c = config.SeLoraSeeded();
                var (text, unet) = InjectBoth(models, targets, s => new SeLoraLinear(s.Name, s.Index, s.Layer, c));
                return new AdapterSet(config.Method, models, text, unet, null, null, c);
            }
            case AdapterMethod.Lora:
            {
                var c = config.Lora;
                var (text, unet) = InjectBoth(models, targets, s =>
                {
                    using var generator = DrawSeed.Generator(seed, s.Index, 0);
                    return new LoraLinear(s.Name, s.Index, s.Layer, c, generator);
                });
                return new AdapterSet(config.Method, models, text, unet, null, null, null);
            }
            case AdapterMethod.DyLora:
            {
                var c = config.DyLoraSeeded();
                var (text, unet) = InjectBoth(models, targets, s => new DyLoraLinear(s.Name, s.Index, s.Layer, c));
                var controller = new DyLoraController([.. text.Cast<DyLoraLinear>(), .. unet.Cast<DyLoraLinear>()], c);
                return new AdapterSet(config.Method, models, text, unet, controller, null, null);
            }
            case AdapterMethod.AdaLora:
            {
                var c = config.AdaLoraFor(totalSteps);
                var (text, unet) = InjectBoth(models, targets, s => new AdaLoraLinear(s.Name, s.Index, s.Layer, c));
                var allocator = new RankAllocator([.. text.Cast<AdaLoraLinear>(), .. unet.Cast<AdaLoraLinear>()], c);
                return new AdapterSet(config.Method, models, text, unet, null, allocator, null);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(config), config.Method, "unknown adapter method");
        }
    }

    /// <summary>Freezes everything but the adapters; the trainable parameters in the optimizer's fixed order.</summary>
    public IReadOnlyList<Parameter> MarkTrainable() =>
        [.. AdapterInjector.MarkOnlyAdaptersTrainable(Models.TextEncoder), .. AdapterInjector.MarkOnlyAdaptersTrainable(Models.Unet)];

    /// <summary>SeLoRA's controller over every layer, moving <paramref name="optimizer"/>'s state on growth; null for other methods.</summary>
    public SeLoraController? CreateController(AdamOptimizer optimizer) =>
        seLoraConfig is null ? null : new SeLoraController(Layers.Cast<SeLoraLinear>(), seLoraConfig, optimizer);

    /// <summary>Layer name (component-qualified, e.g. "unet.down_blocks.0...to_q") to its rank now.</summary>
    public IReadOnlyDictionary<string, int> Ranks() => Named().ToDictionary(n => n.Name, n => n.Layer.Rank, StringComparer.Ordinal);

    public IEnumerable<(string Name, IAdapter Layer)> Named() =>
        TextEncoderLayers.Select(l => ($"{AdapterPresets.TextEncoder}.{l.Name}", l))
            .Concat(UnetLayers.Select(l => ($"{AdapterPresets.Unet}.{l.Name}", l)));

    public void BeginStep(long step) => DyLora?.BeginStep(step);

    public Tensor? Regularizer() => Allocator is { Config.OrthRegWeight: > 0 } a ? a.OrthogonalLoss() : null;

    public IReadOnlyList<RankChange> AfterOptimizerStep(long step)
    {
        if (Allocator is not { } allocator) return [];
        // Module names as SeLoRA's expansions report them (text_model.* and the U-Net's own names never collide).
        var before = Layers.Select(l => l.Rank).ToList();
        allocator.UpdateAndAllocate(step);
        return Layers.Zip(before)
            .Where(p => p.First.Rank != p.Second)
            .Select(p => new RankChange(step, p.First.Name, p.Second, p.First.Rank))
            .ToList();
    }

    /// <summary>Switches the method's layers to evaluation (DyLoRA: its inference rank, r_max) or back to training.</summary>
    public void Train(bool on)
    {
        Models.TextEncoder.train(on);
        Models.Unet.train(on);
    }

    public void Dispose() => Allocator?.Dispose();

    static (IReadOnlyList<IAdapter> Text, IReadOnlyList<IAdapter> Unet) InjectBoth<TAdapter>(StableDiffusionModels models, AdapterTargets targets,
        Func<InjectionSite, TAdapter> factory) where TAdapter : nn.Module<Tensor, Tensor>, IAdapter
    {
        var text = AdapterInjector.Inject(models.TextEncoder, targets.TextEncoderFilter, factory);
        var unet = AdapterInjector.Inject(models.Unet, targets.UnetFilter, factory, firstIndex: text.Count);
        if (unet.Count == 0) throw new ArgumentException($"Target preset '{targets.Name}' matches no U-Net layer of this model.");
        return (text.Cast<IAdapter>().ToList(), unet.Cast<IAdapter>().ToList());
    }
}
