using SeLoRA.Adapters.Core;
using static SeLoRA.Adapters.Core.ConfigFields;
using System.Text.Json;

namespace SeLoRA.Adapters.AdaLora;

/// <summary>
/// AdaLoRA's hyperparameters with PEFT's names and defaults (peft/tuners/adalora/config.py): init_r 12, target_r 8,
/// tinit 0, tfinal 0, deltaT 1, beta1 = beta2 = 0.85, orth_reg_weight 0.5, lora_alpha 8, total_step required.
/// </summary>
public sealed record AdaLoraConfig
{
    /// <summary>init_r: every module's rank at the start.</summary>
    public int InitR { get; init; } = 12;

    /// <summary>target_r: the final average rank; the final budget is target_r * number of modules.</summary>
    public int TargetR { get; init; } = 8;

    /// <summary>tinit: steps of warm-up at the full budget.</summary>
    public long TInit { get; init; }

    /// <summary>tfinal: the last steps, trained at the fixed final rank pattern.</summary>
    public long TFinal { get; init; }

    /// <summary>deltaT: during the budget phase the E entries are masked every deltaT steps.</summary>
    public long DeltaT { get; init; } = 1;

    /// <summary>EMA coefficient of the sensitivity I'.</summary>
    public double Beta1 { get; init; } = 0.85;

    /// <summary>EMA coefficient of the uncertainty U'.</summary>
    public double Beta2 { get; init; } = 0.85;

    /// <summary>Coefficient of the orthogonal regulariser added to the loss (PEFT requires it to be positive; 0 here disables it).</summary>
    public double OrthRegWeight { get; init; } = 0.5;

    /// <summary>total_step T: the number of training steps; required (the budget schedule depends on it).</summary>
    public long? TotalStep { get; init; }

    /// <summary>rank_pattern: the saved masks, per module (keys as written; see <see cref="RankPatternFor"/>).</summary>
    public IReadOnlyDictionary<string, bool[]>? RankPattern { get; init; }

    /// <summary>lora_alpha; the scaling is lora_alpha when positive, else the module's rank (PEFT).</summary>
    public double Alpha { get; init; } = 8;

    public double Dropout { get; init; }

    /// <summary>Run seed for the initial draws of A and B (not a PEFT field; read from "seed" when present).</summary>
    public ulong Seed { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public long TotalSteps => TotalStep ?? throw new InvalidOperationException("AdaLoRA needs total_step (the number of training steps) for its budget schedule.");

    public void Validate()
    {
        if (InitR < 1) throw new ArgumentOutOfRangeException(nameof(InitR), InitR, "init_r must be at least 1");
        if (TargetR < 0 || TargetR > InitR) throw new ArgumentOutOfRangeException(nameof(TargetR), TargetR, $"target_r must be in [0, init_r = {InitR}]");
        if (TotalStep is not { } total || total <= 0)
            throw new ArgumentOutOfRangeException(nameof(TotalStep), TotalStep, "AdaLoRA does not work without total_step; supply a value > 0");
        if (TInit < 0) throw new ArgumentOutOfRangeException(nameof(TInit), TInit, "tinit must be >= 0");
        if (TFinal < 0) throw new ArgumentOutOfRangeException(nameof(TFinal), TFinal, "tfinal must be >= 0");
        if (TInit >= total - TFinal)
            throw new ArgumentOutOfRangeException(nameof(TInit), TInit, $"tinit {TInit}, tfinal {TFinal} and total_step {total} leave no budgeting phase (need tinit < total_step - tfinal)");
        if (DeltaT < 1) throw new ArgumentOutOfRangeException(nameof(DeltaT), DeltaT, "deltaT must be at least 1");
        if (!(Beta1 > 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "beta1 must be in (0, 1)");
        if (!(Beta2 > 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "beta2 must be in (0, 1)");
        if (!(OrthRegWeight >= 0) || !double.IsFinite(OrthRegWeight)) throw new ArgumentOutOfRangeException(nameof(OrthRegWeight), OrthRegWeight, "orth_reg_weight must be finite and >= 0");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "lora_dropout must be in [0, 1)");
        if (!double.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "lora_alpha must be finite");
    }

    /// <summary>PEFT's scaling of a module of rank <paramref name="rank"/>: lora_alpha if positive, else the rank.</summary>
    public double ScalingFor(int rank) => Alpha > 0 ? Alpha : rank;

    /// <summary>
    /// The saved mask of a module: the key equal to <paramref name="moduleName"/>, or a PEFT key naming its E
    /// (<c>[base_model.model.]NAME.lora_E[.ADAPTER]</c>); null when the pattern has none.
    /// </summary>
    public bool[]? RankPatternFor(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        if (RankPattern is null) return null;
        if (RankPattern.TryGetValue(moduleName, out var exact)) return exact;
        foreach (var (key, mask) in RankPattern)
        {
            var k = key.StartsWith("base_model.model.", StringComparison.Ordinal) ? key["base_model.model.".Length..] : key;
            var at = k.LastIndexOf(".lora_E", StringComparison.Ordinal);
            if (at < 0) continue;
            var suffix = k[(at + ".lora_E".Length)..];
            if ((suffix.Length == 0 || (suffix[0] == '.' && !suffix[1..].Contains('.'))) && k[..at] == moduleName) return mask;
        }
        return null;
    }

    /// <summary>Reads PEFT's adapter_config.json of an AdaLoRA adapter (absent or null fields keep PEFT's defaults).</summary>
    public static AdaLoraConfig FromJson(string path) => ConfigFields.ReadFile(path, FromJson);

    public static AdaLoraConfig FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"AdaLoRA config must be a JSON object, got {root.ValueKind}");
        var c = new AdaLoraConfig();
        if (Get(root, "init_r") is { } initR) c = c with { InitR = Int(initR, "init_r") };
        if (Get(root, "target_r") is { } targetR) c = c with { TargetR = Int(targetR, "target_r") };
        if (Get(root, "tinit") is { } tinit) c = c with { TInit = Long(tinit, "tinit") };
        if (Get(root, "tfinal") is { } tfinal) c = c with { TFinal = Long(tfinal, "tfinal") };
        if (Get(root, "deltaT") is { } deltaT) c = c with { DeltaT = Long(deltaT, "deltaT") };
        if (Get(root, "beta1") is { } beta1) c = c with { Beta1 = Number(beta1, "beta1") };
        if (Get(root, "beta2") is { } beta2) c = c with { Beta2 = Number(beta2, "beta2") };
        if (Get(root, "orth_reg_weight") is { } orth) c = c with { OrthRegWeight = Number(orth, "orth_reg_weight") };
        if (Get(root, "total_step") is { } total) c = c with { TotalStep = Long(total, "total_step") };
        if (Get(root, "lora_alpha") is { } alpha) c = c with { Alpha = Number(alpha, "lora_alpha") };
        if (Get(root, "lora_dropout") is { } dropout) c = c with { Dropout = Number(dropout, "lora_dropout") };
        if (Get(root, "seed") is { } seed)
            c = c with { Seed = Seed(seed, "seed") };
        if (Get(root, "init_lora_weights") is { } init && init.ValueKind != JsonValueKind.True)
            throw new FormatException($"init_lora_weights: unsupported value {init.GetRawText()} (only true: E = 0, A and B ~ N(0, 0.02))");
        if (Get(root, "use_dora") is { ValueKind: JsonValueKind.True }) throw new FormatException("use_dora: AdaLoRA does not support DoRA");
        if (Get(root, "rank_pattern") is { } pattern) c = c with { RankPattern = ReadPattern(pattern) };
        c.Validate();
        return c;
    }

    static Dictionary<string, bool[]> ReadPattern(JsonElement pattern)
    {
        if (pattern.ValueKind != JsonValueKind.Object) throw new FormatException($"rank_pattern: expected an object of boolean lists, got {pattern.ValueKind}");
        var result = new Dictionary<string, bool[]>(StringComparer.Ordinal);
        foreach (var entry in pattern.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Array)
                throw new FormatException($"rank_pattern.{entry.Name}: expected a list of booleans, got {entry.Value.GetRawText()}");
            result[entry.Name] = entry.Value.EnumerateArray().Select(v => v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new FormatException($"rank_pattern.{entry.Name}: expected booleans, got {v.GetRawText()}"),
            }).ToArray();
        }
        return result;
    }
}
