using System.Text.Json;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// A diffusers <c>scheduler_config.json</c>, shared by the DDPM, PNDM and DDIM schedulers. Absent fields take the
/// diffusers (v0.24) defaults; the one default that differs between classes, <c>set_alpha_to_one</c>, stays null
/// when absent and each scheduler resolves it (DDIM true, PNDM false).
/// </summary>
public sealed record SchedulerConfig
{
    /// <summary>The config values Stable Diffusion v1.5 ships (its <c>scheduler/scheduler_config.json</c>).</summary>
    public static SchedulerConfig StableDiffusion15 { get; } = new()
    {
        ClassName = "PNDMScheduler",
        NumTrainTimesteps = 1000,
        BetaStart = 0.00085,
        BetaEnd = 0.012,
        BetaSchedule = BetaSchedule.ScaledLinear,
        SetAlphaToOne = false,
        SkipPrkSteps = true,
        StepsOffset = 1,
        ClipSample = false,
    };

    /// <summary><c>_class_name</c>, informational only.</summary>
    public string? ClassName { get; init; }

    /// <summary><c>num_train_timesteps</c> (default 1000).</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>beta_start</c> (default 0.0001).</summary>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary><c>beta_end</c> (default 0.02).</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary><c>beta_schedule</c> (default linear).</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary><c>trained_betas</c>: explicit betas that replace the schedule (default null).</summary>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary><c>prediction_type</c> (default epsilon).</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary><c>steps_offset</c> added to leading-spaced inference timesteps (default 0).</summary>
    public int StepsOffset { get; init; }

    /// <summary><c>set_alpha_to_one</c>; null when absent, so the scheduler's own default applies.</summary>
    public bool? SetAlphaToOne { get; init; }

    /// <summary><c>skip_prk_steps</c> (PNDM; default false).</summary>
    public bool SkipPrkSteps { get; init; }

    /// <summary><c>clip_sample</c> (DDPM, DDIM; default true).</summary>
    public bool ClipSample { get; init; } = true;

    /// <summary><c>clip_sample_range</c> (default 1.0).</summary>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary><c>thresholding</c>: dynamic thresholding of the predicted x0 (DDPM, DDIM; default false).</summary>
    public bool Thresholding { get; init; }

    /// <summary><c>dynamic_thresholding_ratio</c> (default 0.995).</summary>
    public double DynamicThresholdingRatio { get; init; } = 0.995;

    /// <summary><c>sample_max_value</c> (default 1.0).</summary>
    public double SampleMaxValue { get; init; } = 1.0;

    /// <summary><c>timestep_spacing</c> (default leading).</summary>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Leading;

    /// <summary><c>rescale_betas_zero_snr</c> (DDPM, DDIM; default false).</summary>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <summary><c>variance_type</c> (DDPM; default fixed_small).</summary>
    public VarianceType VarianceType { get; init; } = VarianceType.FixedSmall;

    /// <summary>Reads a <c>scheduler_config.json</c> file.</summary>
    public static SchedulerConfig FromJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"scheduler config {path} does not exist", path);
        using var document = ParseDocument(File.ReadAllText(path), path);
        return FromJson(document.RootElement, path);
    }

    /// <summary>Reads a scheduler config from JSON text.</summary>
    public static SchedulerConfig FromJsonText(string json, string source = "scheduler config")
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = ParseDocument(json, source);
        return FromJson(document.RootElement, source);
    }

    /// <summary>Reads a scheduler config object; <paramref name="source"/> names it in errors.</summary>
    public static SchedulerConfig FromJson(JsonElement element, string source = "scheduler config")
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{source}: expected a JSON object, found {element.ValueKind}");

        var reader = new FieldReader(element, source);
        var defaults = new SchedulerConfig();
        var config = new SchedulerConfig
        {
            ClassName = reader.String("_class_name"),
            NumTrainTimesteps = reader.Int("num_train_timesteps") ?? defaults.NumTrainTimesteps,
            BetaStart = reader.Double("beta_start") ?? defaults.BetaStart,
            BetaEnd = reader.Double("beta_end") ?? defaults.BetaEnd,
            BetaSchedule = reader.Enum("beta_schedule", BetaSchedules) ?? defaults.BetaSchedule,
            TrainedBetas = reader.DoubleArray("trained_betas"),
            PredictionType = reader.Enum("prediction_type", PredictionTypes) ?? defaults.PredictionType,
            StepsOffset = reader.Int("steps_offset") ?? defaults.StepsOffset,
            SetAlphaToOne = reader.Bool("set_alpha_to_one"),
            SkipPrkSteps = reader.Bool("skip_prk_steps") ?? defaults.SkipPrkSteps,
            ClipSample = reader.Bool("clip_sample") ?? defaults.ClipSample,
            ClipSampleRange = reader.Double("clip_sample_range") ?? defaults.ClipSampleRange,
            Thresholding = reader.Bool("thresholding") ?? defaults.Thresholding,
            DynamicThresholdingRatio = reader.Double("dynamic_thresholding_ratio") ?? defaults.DynamicThresholdingRatio,
            SampleMaxValue = reader.Double("sample_max_value") ?? defaults.SampleMaxValue,
            TimestepSpacing = reader.Enum("timestep_spacing", TimestepSpacings) ?? defaults.TimestepSpacing,
            RescaleBetasZeroSnr = reader.Bool("rescale_betas_zero_snr") ?? defaults.RescaleBetasZeroSnr,
            VarianceType = reader.Enum("variance_type", VarianceTypes) ?? defaults.VarianceType,
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Checks the values that JSON parsing cannot; schedulers call it too, for configs built in code.</summary>
    public void Validate(string source = "scheduler config")
    {
        if (NumTrainTimesteps < 1)
            throw new ArgumentException($"{source}: num_train_timesteps must be at least 1, got {NumTrainTimesteps}");
        if (TrainedBetas is { } trained)
        {
            if (trained.Count != NumTrainTimesteps)
                throw new ArgumentException(
                    $"{source}: trained_betas has {trained.Count} values but num_train_timesteps is {NumTrainTimesteps}");
            if (trained.Any(b => !(b > 0 && b < 1)))
                throw new ArgumentException($"{source}: trained_betas must all lie in (0, 1)");
        }
        else if (!(BetaStart > 0 && BetaStart < 1) || !(BetaEnd > 0 && BetaEnd < 1))
        {
            throw new ArgumentException($"{source}: beta_start and beta_end must lie in (0, 1), got {BetaStart} and {BetaEnd}");
        }
        if (StepsOffset < 0) throw new ArgumentException($"{source}: steps_offset must not be negative, got {StepsOffset}");
        if (!(ClipSampleRange > 0)) throw new ArgumentException($"{source}: clip_sample_range must be positive, got {ClipSampleRange}");
        if (!(DynamicThresholdingRatio > 0 && DynamicThresholdingRatio <= 1))
            throw new ArgumentException($"{source}: dynamic_thresholding_ratio must lie in (0, 1], got {DynamicThresholdingRatio}");
        if (!(SampleMaxValue >= 1))
            throw new ArgumentException($"{source}: sample_max_value must be at least 1, got {SampleMaxValue}");
    }

    /// <summary>The diffusers spelling of a beta schedule.</summary>
    public static string Name(BetaSchedule value) => BetaSchedules.First(p => p.Value == value).Key;

    /// <summary>The diffusers spelling of a prediction type.</summary>
    public static string Name(PredictionType value) => PredictionTypes.First(p => p.Value == value).Key;

    /// <summary>The diffusers spelling of a timestep spacing.</summary>
    public static string Name(TimestepSpacing value) => TimestepSpacings.First(p => p.Value == value).Key;

    static readonly Dictionary<string, BetaSchedule> BetaSchedules = new(StringComparer.Ordinal)
    {
        ["linear"] = BetaSchedule.Linear,
        ["scaled_linear"] = BetaSchedule.ScaledLinear,
        ["squaredcos_cap_v2"] = BetaSchedule.SquaredcosCapV2,
    };

    static readonly Dictionary<string, PredictionType> PredictionTypes = new(StringComparer.Ordinal)
    {
        ["epsilon"] = PredictionType.Epsilon,
        ["v_prediction"] = PredictionType.VPrediction,
        ["sample"] = PredictionType.Sample,
    };

    static readonly Dictionary<string, TimestepSpacing> TimestepSpacings = new(StringComparer.Ordinal)
    {
        ["leading"] = TimestepSpacing.Leading,
        ["trailing"] = TimestepSpacing.Trailing,
        ["linspace"] = TimestepSpacing.Linspace,
    };

    static readonly Dictionary<string, VarianceType> VarianceTypes = new(StringComparer.Ordinal)
    {
        ["fixed_small"] = VarianceType.FixedSmall,
        ["fixed_small_log"] = VarianceType.FixedSmallLog,
        ["fixed_large"] = VarianceType.FixedLarge,
    };

    static JsonDocument ParseDocument(string json, string source)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Typed reads of optional fields; JSON null counts as absent, as in diffusers.</summary>
    readonly struct FieldReader(JsonElement element, string source)
    {
        JsonElement? Get(string field) =>
            element.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        FormatException Bad(string field, JsonElement value, string expected) =>
            new($"{source}: field \"{field}\" must be {expected}, found {value.GetRawText()}");

        public string? String(string field) => Get(field) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } v => v.GetString(),
            var v => throw Bad(field, v.Value, "a string"),
        };

        public int? Int(string field) => Get(field) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out var i) => i,
            // Python writes some integers as 1.0; accept those when integral.
            { ValueKind: JsonValueKind.Number } v when v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue => (int)d,
            var v => throw Bad(field, v.Value, "an integer"),
        };

        public double? Double(string field) => Get(field) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
            var v => throw Bad(field, v.Value, "a number"),
        };

        public bool? Bool(string field) => Get(field) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            var v => throw Bad(field, v.Value, "true or false"),
        };

        public double[]? DoubleArray(string field)
        {
            if (Get(field) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Array) throw Bad(field, v, "an array of numbers");
            var values = new double[v.GetArrayLength()];
            var i = 0;
            foreach (var item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number) throw Bad(field, item, "an array of numbers");
                values[i++] = item.GetDouble();
            }
            return values;
        }

        public T? Enum<T>(string field, Dictionary<string, T> names) where T : struct
        {
            if (Get(field) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.String) throw Bad(field, v, "a string");
            var text = v.GetString()!;
            if (names.TryGetValue(text, out var value)) return value;
            throw new NotSupportedException(
                $"{source}: field \"{field}\" has unsupported value \"{text}\"; supported: {string.Join(", ", names.Keys)}");
        }
    }
}
