using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Configuration;
using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Data.Datasets;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Training.Configuration;

namespace SeLoRA.Cluster.Hosting;

/// <summary>
/// Reads "selora.train" (hocon/base.hocon plus overlays) into a validated <see cref="TrainingConfig"/>. Every error is a
/// <see cref="ConfigurationException"/> naming the full key, the value and what the key accepts; a wrong type included.
/// </summary>
public static partial class TrainingConfigReader
{
    static readonly IReadOnlyList<string> ScheduleNames = ["constant", "constant-with-warmup", "linear", "cosine"];
    static readonly IReadOnlyList<string> PolicyNames = ["reset", "keep-old-rows"];

    /// <param name="config">The layered configuration (base.hocon first, so every key is present).</param>
    /// <param name="defaultDevice">Used when selora.train.device is empty (normally selora.torch.device's value);
    /// null: selora.torch.device from <paramref name="config"/>, else "auto".</param>
    public static TrainingConfig Read(Config config, string? defaultDevice = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.HasPath(SeloraSettings.Keys.Train))
            throw new ConfigurationException($"setting {SeloraSettings.Keys.Train} is missing; load hocon/{HoconLoader.BaseFile} first (HoconLoader.Load).");
        var r = new SettingReader(config);

        var method = r.Parse(Keys.Method, "selora, lora, adalora or dylora", AdapterMethods.Parse);
        var dataset = r.String(Keys.Dataset, s => s.Trim().Length > 0, "a dataset spec such as iu-xray:/data/iu-xray or folder:runs/data/synthcxr-800x64");
        var spec = r.Parse(Keys.Dataset, "a dataset spec kind:folder[?options]", _ => DatasetSpec.Parse(dataset), withReason: true);
        var synthCount = r.Int(Keys.SynthCxrCount, v => v >= 0, "0 (do not generate) or a positive count");
        if (synthCount > 0 && spec.Kind != "folder")
            throw Invalid(Keys.SynthCxrCount, synthCount, $"0 with {Keys.Dataset} = \"{dataset}\" (SynthCXR writes an image folder: use a folder: spec)");
        var useDatasetSplit = r.Bool(Keys.SplitUseDataset);
        var fractions = r.DoubleList(Keys.SplitFractions);
        if (!useDatasetSplit)
        {
            var shown = "[" + string.Join(", ", fractions.Select(f => f.ToString("R", CultureInfo.InvariantCulture))) + "]";
            if (fractions.Count is < 2 or > 3 || fractions.Any(f => !(f >= 0)) || Math.Abs(fractions.Sum() - 1) > 1e-9)
                throw Invalid(Keys.SplitFractions, shown, "2 or 3 non-negative fractions [train, valid(, test)] summing to 1");
            if (fractions[1] <= 0)
                throw Invalid(Keys.SplitFractions, shown, "a validation fraction above 0 (the best checkpoint is chosen on it)");
        }

        var batch = r.Int(Keys.BatchSize, v => v >= 1, "at least 1");
        var epochs = r.Int(Keys.Epochs, v => v >= 0, "0 (max-steps only) or more");
        var maxSteps = r.Long(Keys.MaxSteps, v => v >= 0, "0 (epochs only) or more");
        if (epochs == 0 && maxSteps == 0) throw Invalid(Keys.Epochs, 0, $"above 0 when {Keys.MaxSteps} is 0 (one of them must end the run)");

        var seLoraInitial = r.Int(Keys.SeLoraInitialRank, v => v >= 1, "at least 1");
        var seLoraMax = r.Int(Keys.SeLoraMaxRank, v => v == 0 || v >= seLoraInitial, $"0 (no cap) or at least {Keys.SeLoraInitialRank} ({seLoraInitial})");
        var adaInitR = r.Int(Keys.AdaLoraInitR, v => v >= 1, "at least 1");
        var adaTotal = r.Long(Keys.AdaLoraTotalStep, v => v >= 0, "0 (the run's step count) or a positive step count");
        var adaTInit = r.Long(Keys.AdaLoraTInit, v => v >= 0, "0 or more steps");
        var adaTFinal = r.Long(Keys.AdaLoraTFinal, v => v >= 0, "0 or more steps");
        if (adaTotal > 0 && adaTInit >= adaTotal - adaTFinal)
            throw Invalid(Keys.AdaLoraTInit, adaTInit, $"less than {Keys.AdaLoraTotalStep} - {Keys.AdaLoraTFinal} ({adaTotal} - {adaTFinal}), so a budgeting phase remains");
        // total-step 0 means the run's length; with max-steps alone that length is known now.
        var knownSteps = adaTotal > 0 ? adaTotal : epochs == 0 ? maxSteps : 0;
        if (method == AdapterMethod.AdaLora && adaTotal == 0 && knownSteps > 0 && adaTInit >= knownSteps - adaTFinal)
            throw Invalid(Keys.AdaLoraTInit, adaTInit, $"less than the run's {knownSteps} steps ({Keys.MaxSteps}) - {Keys.AdaLoraTFinal} ({adaTFinal}), so a budgeting phase remains");
        var dyMax = r.Int(Keys.DyLoraMaxRank, v => v >= 1, "at least 1");

        var deviceText = r.Device(Keys.Device, "selora.torch.device");
        var device = deviceText.Length > 0
            ? deviceText
            : defaultDevice ?? (config.GetString(SeloraSettings.Keys.TorchDevice, "") is { Length: > 0 } torchDevice ? torchDevice : "auto");

        var result = new TrainingConfig
        {
            Name = r.String(Keys.Name, s => s.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && s is not ("." or ".."), "a plain folder name (no path separators), or empty for an automatic name"),
            Seed = r.Long(Keys.Seed, _ => true, ""),
            Method = method,
            BaseModel = r.String(Keys.BaseModel, s => s.Trim().Length > 0, "a diffusers model folder (model_index.json, unet/, text_encoder/, vae/, tokenizer/, scheduler/)"),
            Targets = r.String(Keys.Targets, AdapterPresets.IsPreset, string.Join(", ", AdapterPresets.Names)),
            AdaptTextEncoder = r.Bool(Keys.AdaptTextEncoder),
            Data = new DataSettings
            {
                Dataset = dataset.Trim(),
                SynthCxrCount = synthCount,
                SynthCxrSize = r.Int(Keys.SynthCxrSize, v => v is >= 16 and <= 4096, "a side from 16 to 4096"),
                SplitFractions = fractions,
                SplitSeed = r.Int(Keys.SplitSeed, _ => true, ""),
                UseDatasetSplit = useDatasetSplit,
                Resolution = r.Int(Keys.Resolution, v => v is >= 8 and <= 4096 && v % 8 == 0, "a multiple of 8 from 8 to 4096"),
                PromptDropout = r.Double(Keys.PromptDropout, v => v is >= 0 and < 1, "a probability in [0, 1)"),
                LatentCache = r.String(Keys.LatentCache, _ => true, ""),
            },
            Optimization = new OptimizationSettings
            {
                BatchSize = batch,
                GradientAccumulation = r.Int(Keys.GradientAccumulation, v => v >= 1 && v <= batch, $"1 to {Keys.BatchSize} ({batch})"),
                Epochs = epochs,
                MaxSteps = maxSteps,
                Adam = new AdamOptions
                {
                    LearningRate = r.Double(Keys.LearningRate, v => v >= 0 && double.IsFinite(v), "a finite rate >= 0 (the paper: 0.0001)"),
                    Beta1 = r.Double(Keys.AdamBeta1, v => v is >= 0 and < 1, "a number in [0, 1)"),
                    Beta2 = r.Double(Keys.AdamBeta2, v => v is >= 0 and < 1, "a number in [0, 1)"),
                    Eps = r.Double(Keys.AdamEps, v => v >= 0 && double.IsFinite(v), "a finite number >= 0"),
                    WeightDecay = r.Double(Keys.WeightDecay, v => v >= 0 && double.IsFinite(v), "a finite number >= 0"),
                },
                LrSchedule = r.Parse(Keys.LrScheduleKind, string.Join(", ", ScheduleNames), ParseSchedule),
                WarmupSteps = r.Long(Keys.WarmupSteps, v => v >= 0, "0 or more steps"),
                MinSnrGamma = r.Double(Keys.MinSnrGamma, v => v >= 0 && double.IsFinite(v), "0 (off) or a positive gamma"),
                NoiseOffset = r.Double(Keys.NoiseOffset, v => v >= 0 && double.IsFinite(v), "0 (off) or a positive offset"),
            },
            SeLora = new SeLoraConfig
            {
                InitialRank = seLoraInitial,
                Alpha = r.Double(Keys.SeLoraAlpha, double.IsFinite, "a finite number"),
                ScaleWithRank = r.Bool(Keys.SeLoraScaleWithRank),
                Dropout = r.Double(Keys.SeLoraDropout, v => v is >= 0 and < 1, "a probability in [0, 1)"),
                Lambda = r.Double(Keys.SeLoraLambda, v => v > 0 && double.IsFinite(v), "a positive threshold (the paper: 1.3; 1 accepts every test)"),
                TestInterval = r.Int(Keys.SeLoraTestInterval, v => v >= 1, "at least 1 step"),
                MaxRank = seLoraMax == 0 ? null : seLoraMax,
                FastTest = r.Bool(Keys.SeLoraFastTest),
                OptimizerPolicy = r.Parse(Keys.SeLoraOptimizerPolicy, string.Join(" or ", PolicyNames), ParsePolicy),
            },
            Lora = new LoraConfig
            {
                Rank = r.Int(Keys.LoraRank, v => v >= 1, "at least 1"),
                Alpha = r.Double(Keys.LoraAlpha, double.IsFinite, "a finite number"),
                Dropout = r.Double(Keys.LoraDropout, v => v is >= 0 and < 1, "a probability in [0, 1)"),
                UseRsLora = r.Bool(Keys.LoraRsLora),
            },
            AdaLora = new AdaLoraConfig
            {
                InitR = adaInitR,
                TargetR = r.Int(Keys.AdaLoraTargetR, v => v >= 0 && v <= adaInitR, $"0 to {Keys.AdaLoraInitR} ({adaInitR})"),
                TInit = adaTInit,
                TFinal = adaTFinal,
                DeltaT = r.Long(Keys.AdaLoraDeltaT, v => v >= 1, "at least 1 step"),
                Beta1 = r.Double(Keys.AdaLoraBeta1, v => v is > 0 and < 1, "a number in (0, 1)"),
                Beta2 = r.Double(Keys.AdaLoraBeta2, v => v is > 0 and < 1, "a number in (0, 1)"),
                OrthRegWeight = r.Double(Keys.AdaLoraOrthRegWeight, v => v >= 0 && double.IsFinite(v), "a finite number >= 0 (0: off)"),
                Alpha = r.Double(Keys.AdaLoraAlpha, double.IsFinite, "a finite number"),
                Dropout = r.Double(Keys.AdaLoraDropout, v => v is >= 0 and < 1, "a probability in [0, 1)"),
                TotalStep = adaTotal == 0 ? null : adaTotal,
            },
            DyLora = new DyLoraConfig
            {
                MaxRank = dyMax,
                MinRank = r.Int(Keys.DyLoraMinRank, v => v >= 1 && v <= dyMax, $"1 to {Keys.DyLoraMaxRank} ({dyMax})"),
                Alpha = r.Double(Keys.DyLoraAlpha, double.IsFinite, "a finite number"),
                Dropout = r.Double(Keys.DyLoraDropout, v => v is >= 0 and < 1, "a probability in [0, 1)"),
                FrozenLowerRanks = r.Bool(Keys.DyLoraFrozenLowerRanks),
                PerLayerRanks = r.Bool(Keys.DyLoraPerLayerRanks),
            },
            Validation = new ValidationSettings
            {
                EveryEpochs = r.Int(Keys.ValidationEveryEpochs, v => v >= 1, "at least 1"),
                EverySteps = r.Long(Keys.ValidationEverySteps, v => v >= 0, "0 (off) or more steps"),
                MaxSamples = r.Int(Keys.ValidationMaxSamples, v => v >= 0, "0 (all) or more"),
                AtStart = r.Bool(Keys.ValidationAtStart),
            },
            Checkpoints = new CheckpointSettings
            {
                EverySteps = r.Long(Keys.CheckpointEverySteps, v => v >= 0, "0 (at validations only) or more steps"),
                Keep = r.Int(Keys.CheckpointKeep, v => v >= 1, "at least 1"),
            },
            Generation = new GenerationSettings
            {
                Count = r.Int(Keys.GenerationCount, v => v >= -1, "-1 (all test prompts), 0 (none) or a count"),
                Steps = r.Int(Keys.GenerationSteps, v => v >= 1, "at least 1"),
                Guidance = r.Double(Keys.GenerationGuidance, v => v >= 0 && double.IsFinite(v), "a finite scale >= 0 (the paper: 7.5)"),
                Scheduler = r.String(Keys.GenerationScheduler, s => InferenceSchedulers.Names.Contains(s.Trim().ToLowerInvariant()), string.Join(" or ", InferenceSchedulers.Names)).Trim().ToLowerInvariant(),
                Seed = r.Long(Keys.GenerationSeed, _ => true, ""),
                BatchSize = r.Int(Keys.GenerationBatch, v => v >= 1, "at least 1"),
            },
            Runtime = new RuntimeSettings
            {
                Device = device,
                LogEverySeconds = r.Double(Keys.LogEverySeconds, v => v > 0 && double.IsFinite(v), "a positive number of seconds"),
                Workers = r.Int(Keys.Workers, v => v is >= 1 and <= 64, "a worker count from 1 to 64"),
            },
        };

        // TrainingConfig.Validate demands AdaLoRA's total_step, which "0 = the run's length" leaves open until the engine
        // counts the steps; the checks above cover it, so validate with a stand-in and return the config as read.
        var check = method == AdapterMethod.AdaLora && result.AdaLora.TotalStep is null
            ? result with { AdaLora = result.AdaLora with { TotalStep = knownSteps > 0 ? knownSteps : long.MaxValue } }
            : result;
        try
        {
            check.Validate();
        }
        catch (ArgumentException e)
        {
            // A rule of TrainingConfig's that the reader does not mirror yet: still a one-line configuration error.
            throw new ConfigurationException($"setting {SeloraSettings.Keys.Train}: {e.Message}", e);
        }
        return result;
    }

    static LrScheduleKind ParseSchedule(string text) => text.Trim().ToLowerInvariant() switch
    {
        "constant" => LrScheduleKind.Constant,
        "constant-with-warmup" => LrScheduleKind.ConstantWithWarmup,
        "linear" => LrScheduleKind.Linear,
        "cosine" => LrScheduleKind.Cosine,
        _ => throw new FormatException(text),
    };

    static RankGrowthPolicy ParsePolicy(string text) => text.Trim().ToLowerInvariant() switch
    {
        "reset" => RankGrowthPolicy.ResetLayerState,
        "keep-old-rows" => RankGrowthPolicy.KeepOldRows,
        _ => throw new FormatException(text),
    };

    internal static ConfigurationException Invalid(string key, object value, string expected) =>
        new($"setting {key} = {Convert.ToString(value, CultureInfo.InvariantCulture)}: expected {expected}.");


    /// <summary>Every key under selora.train, each with its commented default in hocon/base.hocon.</summary>
    public static class Keys
    {
        public const string Name = "selora.train.name";
        public const string Seed = "selora.train.seed";
        public const string Method = "selora.train.method";
        public const string BaseModel = "selora.train.base-model";
        public const string Targets = "selora.train.targets";
        public const string AdaptTextEncoder = "selora.train.adapt-text-encoder";
        public const string Dataset = "selora.train.data.dataset";
        public const string SynthCxrCount = "selora.train.data.synthcxr.count";
        public const string SynthCxrSize = "selora.train.data.synthcxr.size";
        public const string SplitFractions = "selora.train.data.split.fractions";
        public const string SplitSeed = "selora.train.data.split.seed";
        public const string SplitUseDataset = "selora.train.data.split.use-dataset-split";
        public const string Resolution = "selora.train.data.resolution";
        public const string PromptDropout = "selora.train.data.prompt-dropout";
        public const string LatentCache = "selora.train.data.latent-cache";
        public const string BatchSize = "selora.train.batch-size";
        public const string GradientAccumulation = "selora.train.gradient-accumulation";
        public const string Epochs = "selora.train.epochs";
        public const string MaxSteps = "selora.train.max-steps";
        public const string LearningRate = "selora.train.optimizer.learning-rate";
        public const string AdamBeta1 = "selora.train.optimizer.beta1";
        public const string AdamBeta2 = "selora.train.optimizer.beta2";
        public const string AdamEps = "selora.train.optimizer.eps";
        public const string WeightDecay = "selora.train.optimizer.weight-decay";
        public const string LrScheduleKind = "selora.train.lr-schedule.kind";
        public const string WarmupSteps = "selora.train.lr-schedule.warmup-steps";
        public const string MinSnrGamma = "selora.train.min-snr-gamma";
        public const string NoiseOffset = "selora.train.noise-offset";
        public const string SeLoraInitialRank = "selora.train.selora.initial-rank";
        public const string SeLoraAlpha = "selora.train.selora.alpha";
        public const string SeLoraScaleWithRank = "selora.train.selora.scale-with-rank";
        public const string SeLoraDropout = "selora.train.selora.dropout";
        public const string SeLoraLambda = "selora.train.selora.lambda";
        public const string SeLoraTestInterval = "selora.train.selora.test-interval";
        public const string SeLoraMaxRank = "selora.train.selora.max-rank";
        public const string SeLoraFastTest = "selora.train.selora.fast-test";
        public const string SeLoraOptimizerPolicy = "selora.train.selora.optimizer-policy";
        public const string LoraRank = "selora.train.lora.rank";
        public const string LoraAlpha = "selora.train.lora.alpha";
        public const string LoraDropout = "selora.train.lora.dropout";
        public const string LoraRsLora = "selora.train.lora.rslora";
        public const string AdaLoraInitR = "selora.train.adalora.init-r";
        public const string AdaLoraTargetR = "selora.train.adalora.target-r";
        public const string AdaLoraTInit = "selora.train.adalora.tinit";
        public const string AdaLoraTFinal = "selora.train.adalora.tfinal";
        public const string AdaLoraDeltaT = "selora.train.adalora.delta-t";
        public const string AdaLoraBeta1 = "selora.train.adalora.beta1";
        public const string AdaLoraBeta2 = "selora.train.adalora.beta2";
        public const string AdaLoraOrthRegWeight = "selora.train.adalora.orth-reg-weight";
        public const string AdaLoraAlpha = "selora.train.adalora.alpha";
        public const string AdaLoraDropout = "selora.train.adalora.dropout";
        public const string AdaLoraTotalStep = "selora.train.adalora.total-step";
        public const string DyLoraMaxRank = "selora.train.dylora.max-rank";
        public const string DyLoraMinRank = "selora.train.dylora.min-rank";
        public const string DyLoraAlpha = "selora.train.dylora.alpha";
        public const string DyLoraDropout = "selora.train.dylora.dropout";
        public const string DyLoraFrozenLowerRanks = "selora.train.dylora.frozen-lower-ranks";
        public const string DyLoraPerLayerRanks = "selora.train.dylora.per-layer-ranks";
        public const string ValidationEveryEpochs = "selora.train.validation.every-epochs";
        public const string ValidationEverySteps = "selora.train.validation.every-steps";
        public const string ValidationMaxSamples = "selora.train.validation.max-samples";
        public const string ValidationAtStart = "selora.train.validation.at-start";
        public const string CheckpointEverySteps = "selora.train.checkpoint.every-steps";
        public const string CheckpointKeep = "selora.train.checkpoint.keep";
        public const string GenerationCount = "selora.train.generation.count";
        public const string GenerationSteps = "selora.train.generation.steps";
        public const string GenerationGuidance = "selora.train.generation.guidance";
        public const string GenerationScheduler = "selora.train.generation.scheduler";
        public const string GenerationSeed = "selora.train.generation.seed";
        public const string GenerationBatch = "selora.train.generation.batch";
        public const string Device = "selora.train.device";
        public const string LogEverySeconds = "selora.train.log-every-seconds";
        public const string Workers = "selora.train.workers";

        public static IReadOnlyList<string> All { get; } = typeof(Keys).GetFields()
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
    }
}
