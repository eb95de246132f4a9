using SeLoRA.Adapters.Core;
using static SeLoRA.Adapters.Core.ConfigFields;
using System.Text.Json;

namespace SeLoRA.Adapters.DyLora;

/// <summary>
/// DyLoRA's hyperparameters (Valipour et al., EACL 2023; selora-method.md section 2). Every rank b in
/// [<see cref="MinRank"/>, <see cref="MaxRank"/>] is trained at once: each step draws b uniformly and the forward uses
/// the first b ranks only.
/// </summary>
public sealed record DyLoraConfig
{
    /// <summary>r_max: the number of rows of A and columns of B.</summary>
    public int MaxRank { get; init; } = 8;

    /// <summary>The lowest rank a step can draw (the paper's r_min; 1 gives b ~ U{1..r_max}).</summary>
    public int MinRank { get; init; } = 1;

    /// <summary>alpha in the base scaling alpha / r_max (as LoRA's alpha / r).</summary>
    public double Alpha { get; init; } = 8;

    public double Dropout { get; init; }

    /// <summary>
    /// The paper's "frozen" mode: a step with rank b updates only the b-th rank (row b of A, column b of B); the lower
    /// ranks are used in the forward but receive zero gradient.
    /// </summary>
    public bool FrozenLowerRanks { get; init; }

    /// <summary>
    /// False (default, the paper's algorithm): one b per step shared by every layer. True: each layer draws its own b
    /// from its own layer index (still the same on every replica).
    /// </summary>
    public bool PerLayerRanks { get; init; }

    /// <summary>Run seed; with a layer index (or the shared stream) and a draw count it seeds every random draw.</summary>
    public ulong Seed { get; init; }

    public void Validate()
    {
        if (MaxRank < 1) throw new ArgumentOutOfRangeException(nameof(MaxRank), MaxRank, "DyLoRA's maximum rank must be at least 1");
        if (MinRank < 1 || MinRank > MaxRank)
            throw new ArgumentOutOfRangeException(nameof(MinRank), MinRank, $"DyLoRA's minimum rank must be in [1, {MaxRank}]");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "dropout must be in [0, 1)");
        if (!double.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be finite");
    }

    /// <summary>
    /// Reads a JSON object with PEFT-style names where PEFT has them (r = r_max, lora_alpha, lora_dropout) and DyLoRA's own
    /// otherwise (min_r, frozen, per_layer_ranks, seed); absent fields keep the defaults.
    /// </summary>
    public static DyLoraConfig FromJson(string path) => ConfigFields.ReadFile(path, FromJson);

    public static DyLoraConfig FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"DyLoRA config must be a JSON object, got {root.ValueKind}");
        var c = new DyLoraConfig();
        if (Get(root, "r") is { } r) c = c with { MaxRank = Int(r, "r") };
        if (Get(root, "min_r") is { } min) c = c with { MinRank = Int(min, "min_r") };
        if (Get(root, "lora_alpha") is { } alpha) c = c with { Alpha = Number(alpha, "lora_alpha") };
        if (Get(root, "lora_dropout") is { } dropout) c = c with { Dropout = Number(dropout, "lora_dropout") };
        if (Get(root, "frozen") is { } frozen) c = c with { FrozenLowerRanks = Bool(frozen, "frozen") };
        if (Get(root, "per_layer_ranks") is { } perLayer) c = c with { PerLayerRanks = Bool(perLayer, "per_layer_ranks") };
        if (Get(root, "seed") is { } seed)
            c = c with { Seed = Seed(seed, "seed") };
        c.Validate();
        return c;
    }
}
