using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;

namespace SeLoRA.Training.Configuration;

/// <summary>
/// Everything that decides what a training run computes. The defaults are the SeLoRA paper's protocol
/// (selora-method.md section 1): SeLoRA with lambda 1.3, T 40, r0 1, alpha 8; Adam lr 1e-4, batch 8, no schedule,
/// fp32, epsilon-MSE with t ~ U{0..999}; 10 epochs; validation once per epoch and the best checkpoint kept; 50 PNDM
/// steps at guidance 7.5 for the test prompts. <see cref="Hash"/> covers every field except <see cref="Runtime"/>, so a
/// resume with any other difference is refused.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Run name (the run folder's name); empty: derived from the method, seed and start time.</summary>
    public string Name { get; init; } = "";

    /// <summary>Seeds the adapters' draws, the sampler, the split (unless <see cref="SplitSettings.Seed"/>) and every per-sample draw.</summary>
    public long Seed { get; init; }

    public AdapterMethod Method { get; init; } = AdapterMethod.SeLora;

    /// <summary>A diffusers-layout folder (model_index.json, unet/, text_encoder/, vae/, tokenizer/, scheduler/).</summary>
    public string BaseModel { get; init; } = "";

    /// <summary>Adapter target preset (selora-paper, diffusers-attn or all-linear).</summary>
    public string Targets { get; init; } = "selora-paper";

    /// <summary>Adapt the CLIP text encoder too (the paper does).</summary>
    public bool AdaptTextEncoder { get; init; } = true;

    public DataSettings Data { get; init; } = new();

    public OptimizationSettings Optimization { get; init; } = new();

    public SeLoraConfig SeLora { get; init; } = new();

    public LoraConfig Lora { get; init; } = new();

    /// <summary>AdaLoRA; its total_step is filled from the run's step count when left null.</summary>
    public AdaLoraConfig AdaLora { get; init; } = new();

    public DyLoraConfig DyLora { get; init; } = new();

    public ValidationSettings Validation { get; init; } = new();

    public CheckpointSettings Checkpoints { get; init; } = new();

    public GenerationSettings Generation { get; init; } = new();

    /// <summary>Where and how the run executes; not part of <see cref="Hash"/> (a run may resume on another device).</summary>
    public RuntimeSettings Runtime { get; init; } = new();

    [JsonIgnore]
    public ulong UnsignedSeed => unchecked((ulong)Seed);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting when a value is out of range.</summary>
    public TrainingConfig Validate()
    {
        if (string.IsNullOrWhiteSpace(BaseModel)) throw Invalid("base-model", "\"\"", "a diffusers model folder");
        if (Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || Name is "." or "..") throw Invalid("name", Name, "a plain folder name");
        Data.Validate();
        Optimization.Validate();
        Validation.Validate();
        Checkpoints.Validate();
        Generation.Validate();
        Wrap("selora", () => SeLora.Validate());
        Wrap("lora", () => Lora.Validate());
        Wrap("dylora", () => DyLora.Validate());
        // total-step null means "the run's step count", known only once the data is read; check the rest with a stand-in.
        if (Method == AdapterMethod.AdaLora) Wrap("adalora", () => (AdaLora with { TotalStep = AdaLora.TotalStep ?? long.MaxValue / 4 }).Validate());
        if (Optimization.Epochs == 0 && Optimization.MaxSteps == 0) throw Invalid("epochs", "0", "epochs or max-steps above 0");
        return this;
    }

    /// <summary>The method's settings with the run seed applied (adapters draw from it).</summary>
    public SeLoraConfig SeLoraSeeded() => SeLora with { Seed = UnsignedSeed };
    public DyLoraConfig DyLoraSeeded() => DyLora with { Seed = UnsignedSeed };
    public AdaLoraConfig AdaLoraFor(long totalSteps) => AdaLora with { Seed = UnsignedSeed, TotalStep = AdaLora.TotalStep ?? totalSteps };

    /// <summary>Canonical JSON of every field that decides the computation (not <see cref="Runtime"/>), keys sorted.</summary>
    public JsonObject ToCanonicalJson()
    {
        var node = JsonSerializer.SerializeToNode(this with { Runtime = new RuntimeSettings() }, JsonOptions)!.AsObject();
        node.Remove("runtime");
        return Sorted(node);
    }

    /// <summary>The whole config, Runtime included, as written to the run folder.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static TrainingConfig FromJson(string json, string source = "config")
    {
        try
        {
            return JsonSerializer.Deserialize<TrainingConfig>(json, JsonOptions) ?? throw new InvalidDataException($"{source}: empty training config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a training config ({e.Message}).", e);
        }
    }

    /// <summary>"sha256:" + hex over <see cref="ToCanonicalJson"/>.</summary>
    [JsonIgnore]
    public string Hash => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson().ToJsonString())));

    /// <summary>Dotted paths whose values differ between two configs (Runtime ignored), with both values.</summary>
    public static IReadOnlyList<string> Differences(TrainingConfig before, TrainingConfig after)
    {
        var a = Flatten(before.ToCanonicalJson());
        var b = Flatten(after.ToCanonicalJson());
        return a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Where(k => a.GetValueOrDefault(k) != b.GetValueOrDefault(k))
            .Select(k => $"{k}: {a.GetValueOrDefault(k) ?? "(absent)"} -> {b.GetValueOrDefault(k) ?? "(absent)"}")
            .ToList();
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static Dictionary<string, string?> Flatten(JsonNode? node, string prefix = "", Dictionary<string, string?>? into = null)
    {
        into ??= new Dictionary<string, string?>(StringComparer.Ordinal);
        if (node is JsonObject o)
            foreach (var (k, v) in o) Flatten(v, prefix.Length == 0 ? k : $"{prefix}.{k}", into);
        else
            into[prefix] = node?.ToJsonString();
        return into;
    }

    static JsonObject Sorted(JsonObject o)
    {
        var result = new JsonObject();
        foreach (var (k, v) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
            result[k] = v is JsonObject child ? Sorted(child) : v?.DeepClone();
        return result;
    }

    static void Wrap(string section, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"training setting {section}: {e.Message}", e);
        }
    }

    internal static ArgumentException Invalid(string key, object value, string expected) =>
        new($"training setting '{key}' = {Convert.ToString(value, CultureInfo.InvariantCulture)}: expected {expected}.");
}

/// <summary>The dataset, its split and how images become latents.</summary>
public sealed record DataSettings
{
    /// <summary>A dataset spec ("iu-xray:/data/iu", "folder:/data/synthcxr", ...).</summary>
    public string Dataset { get; init; } = "";

    /// <summary>When above 0 and the dataset folder has no metadata.jsonl, SynthCXR generates this many images there first.</summary>
    public int SynthCxrCount { get; init; }

    /// <summary>Side of generated SynthCXR images.</summary>
    public int SynthCxrSize { get; init; } = 128;

    /// <summary>Split fractions in order train, valid, test (the paper's 80/16/4).</summary>
    public IReadOnlyList<double> SplitFractions { get; init; } = [0.8, 0.16, 0.04];

    /// <summary>Seed of the split (the paper's 42); the same for every run seed, so seeds share the split.</summary>
    public int SplitSeed { get; init; } = 42;

    /// <summary>Use the dataset's own split (R2Gen's annotation) instead of fractions.</summary>
    public bool UseDatasetSplit { get; init; }

    /// <summary>Training resolution (the paper: 224).</summary>
    public int Resolution { get; init; } = 224;

    /// <summary>Share of training samples given the empty prompt (classifier-free guidance); the paper: 0.</summary>
    public double PromptDropout { get; init; }

    /// <summary>Latent cache folder; empty: &lt;data-dir&gt;/latent-cache.</summary>
    public string LatentCache { get; init; } = "";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Dataset)) throw TrainingConfig.Invalid("data.dataset", "\"\"", "a dataset spec such as folder:/data/synthcxr");
        if (SynthCxrCount < 0) throw TrainingConfig.Invalid("data.synthcxr.count", SynthCxrCount, "0 (do not generate) or a positive count");
        if (SynthCxrSize is < 16 or > 4096) throw TrainingConfig.Invalid("data.synthcxr.size", SynthCxrSize, "a side from 16 to 4096");
        if (!UseDatasetSplit)
        {
            if (SplitFractions.Count is < 2 or > 3 || SplitFractions.Any(f => !(f >= 0)) || Math.Abs(SplitFractions.Sum() - 1) > 1e-9)
                throw TrainingConfig.Invalid("data.split.fractions", $"[{string.Join(", ", SplitFractions)}]", "2 or 3 non-negative fractions (train, valid[, test]) summing to 1");
            if (SplitFractions[1] <= 0) throw TrainingConfig.Invalid("data.split.fractions", $"[{string.Join(", ", SplitFractions)}]", "a validation fraction above 0 (the best checkpoint is chosen on it)");
        }
        if (Resolution is < 8 or > 4096 || Resolution % 8 != 0) throw TrainingConfig.Invalid("data.resolution", Resolution, "a multiple of 8 from 8 to 4096");
        if (PromptDropout is < 0 or >= 1) throw TrainingConfig.Invalid("data.prompt-dropout", PromptDropout, "a probability in [0, 1)");
    }
}

/// <summary>Optimizer, batch and loss.</summary>
public sealed record OptimizationSettings
{
    /// <summary>Samples per optimizer step over all workers (the paper: 8).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>The batch is processed in this many sequential micro-batches (less memory, same result).</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Epochs (the paper: 10 on IU X-Ray, 100 on Montgomery); 0: only <see cref="MaxSteps"/> limits the run.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Optimizer steps; 0: only <see cref="Epochs"/> limits the run. With both, the first reached ends it.</summary>
    public long MaxSteps { get; init; }

    public AdamOptions Adam { get; init; } = new() { LearningRate = 1e-4 };

    public LrScheduleKind LrSchedule { get; init; } = LrScheduleKind.Constant;

    public long WarmupSteps { get; init; }

    /// <summary>Min-SNR-gamma weighting (diffusers' snr_gamma, 5 is usual); 0: off (the paper).</summary>
    public double MinSnrGamma { get; init; }

    /// <summary>diffusers' noise_offset: noise += offset * N(0, 1) per sample and channel; 0: off (the paper).</summary>
    public double NoiseOffset { get; init; }

    public void Validate()
    {
        if (BatchSize < 1) throw TrainingConfig.Invalid("batch-size", BatchSize, "at least 1");
        if (GradientAccumulation < 1 || GradientAccumulation > BatchSize) throw TrainingConfig.Invalid("gradient-accumulation", GradientAccumulation, $"1 to batch-size ({BatchSize})");
        if (Epochs < 0) throw TrainingConfig.Invalid("epochs", Epochs, "0 or more");
        if (MaxSteps < 0) throw TrainingConfig.Invalid("max-steps", MaxSteps, "0 or more");
        if (WarmupSteps < 0) throw TrainingConfig.Invalid("lr-schedule.warmup-steps", WarmupSteps, "0 or more");
        if (!(MinSnrGamma >= 0)) throw TrainingConfig.Invalid("min-snr-gamma", MinSnrGamma, "0 (off) or a positive gamma");
        if (!(NoiseOffset >= 0) || !double.IsFinite(NoiseOffset)) throw TrainingConfig.Invalid("noise-offset", NoiseOffset, "0 (off) or a positive offset");
        try
        {
            Adam.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"training setting optimizer: {e.Message}", e);
        }
    }
}

/// <summary>Validation loss and best-checkpoint selection.</summary>
public sealed record ValidationSettings
{
    /// <summary>Validation every this many epochs (the paper: 1); the last epoch is always validated.</summary>
    public int EveryEpochs { get; init; } = 1;

    /// <summary>Also every this many steps; 0: off.</summary>
    public long EverySteps { get; init; }

    /// <summary>Validation images used (the first ones of the split); 0: all.</summary>
    public int MaxSamples { get; init; }

    /// <summary>Also measure before the first step, so the summary shows the loss before and after.</summary>
    public bool AtStart { get; init; } = true;

    public void Validate()
    {
        if (EveryEpochs < 1) throw TrainingConfig.Invalid("validation.every-epochs", EveryEpochs, "at least 1");
        if (EverySteps < 0) throw TrainingConfig.Invalid("validation.every-steps", EverySteps, "0 (off) or more");
        if (MaxSamples < 0) throw TrainingConfig.Invalid("validation.max-samples", MaxSamples, "0 (all) or more");
    }
}

/// <summary>Checkpoint cadence and retention.</summary>
public sealed record CheckpointSettings
{
    /// <summary>A checkpoint every this many steps; 0: at each validation only (and at the end).</summary>
    public long EverySteps { get; init; }

    /// <summary>Regular checkpoints kept (the oldest go first); the best is kept apart and never deleted.</summary>
    public int Keep { get; init; } = 3;

    public void Validate()
    {
        if (EverySteps < 0) throw TrainingConfig.Invalid("checkpoint.every-steps", EverySteps, "0 or more");
        if (Keep < 1) throw TrainingConfig.Invalid("checkpoint.keep", Keep, "at least 1");
    }
}

/// <summary>Images generated for the test prompts with the best checkpoint at the end.</summary>
public sealed record GenerationSettings
{
    /// <summary>Test prompts generated (the first of the test split); 0: none; -1: all.</summary>
    public int Count { get; init; } = -1;

    public int Steps { get; init; } = 50;

    public double Guidance { get; init; } = 7.5;

    public string Scheduler { get; init; } = "pndm";

    public long Seed { get; init; }

    public int BatchSize { get; init; } = 4;

    public void Validate()
    {
        if (Count < -1) throw TrainingConfig.Invalid("generation.count", Count, "-1 (all), 0 (none) or a count");
        if (Steps < 1) throw TrainingConfig.Invalid("generation.steps", Steps, "at least 1");
        if (!(Guidance >= 0)) throw TrainingConfig.Invalid("generation.guidance", Guidance, "0 or more");
        if (BatchSize < 1) throw TrainingConfig.Invalid("generation.batch", BatchSize, "at least 1");
    }
}

/// <summary>Where the run executes; free to change between a run and its resume.</summary>
public sealed record RuntimeSettings
{
    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Seconds between progress lines when the output is not a terminal.</summary>
    public double LogEverySeconds { get; init; } = 10;

    /// <summary>Device workers `selora train` starts in its own process (data parallel; the result equals one worker's).</summary>
    public int Workers { get; init; } = 1;
}
