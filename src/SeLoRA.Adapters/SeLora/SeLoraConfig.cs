using SeLoRA.Adapters.Optimization;

namespace SeLoRA.Adapters.SeLora;

/// <summary>
/// SeLoRA's hyperparameters; the defaults are the official ones (selora-method.md section 1): r0 = 1, alpha = 8,
/// scaling fixed at alpha/r0, lambda = 1.3, a test every 40 steps, no maximum rank, Adam state reset on expansion.
/// </summary>
public sealed record SeLoraConfig
{
    public int InitialRank { get; init; } = 1;

    public double Alpha { get; init; } = 8;

    /// <summary>
    /// Off (official): s = alpha / r0 for the whole run. On: s = alpha / r, recomputed at each expansion, which scales the
    /// layer's existing update by r/(r+1) at that moment (the output is then NOT preserved by an expansion).
    /// </summary>
    public bool ScaleWithRank { get; init; }

    public double Dropout { get; init; }

    /// <summary>Expand a layer when FI_exp / FI_orig >= lambda. 1 accepts every test (0/0 excepted).</summary>
    public double Lambda { get; init; } = 1.3;

    /// <summary>T: the expansion test runs after optimizer steps T, 2T, ... (1-based step count).</summary>
    public int TestInterval { get; init; } = 40;

    /// <summary>Optional cap on a layer's rank; null (official) means none.</summary>
    public int? MaxRank { get; init; }

    /// <summary>
    /// Deviation from the paper, off by default: FI_exp = FI_orig + ||dL/db_new||^2 taken from the normal step's backward
    /// (pre-step weights, one pass) instead of a second forward+backward with the trial matrices at post-step weights.
    /// </summary>
    public bool FastTest { get; init; }

    public RankGrowthPolicy OptimizerPolicy { get; init; } = RankGrowthPolicy.ResetLayerState;

    /// <summary>Run seed; with the layer index and a per-layer draw count it seeds every random draw of a layer.</summary>
    public ulong Seed { get; init; }

    public double ScalingFor(int rank) => ScaleWithRank ? Alpha / rank : Alpha / InitialRank;

    public void Validate()
    {
        if (InitialRank < 1) throw new ArgumentOutOfRangeException(nameof(InitialRank), InitialRank, "initial rank must be at least 1");
        if (MaxRank is { } max && max < InitialRank) throw new ArgumentOutOfRangeException(nameof(MaxRank), max, "max rank must be >= the initial rank");
        if (!(Lambda > 0) || double.IsNaN(Lambda)) throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda, "lambda must be positive");
        if (TestInterval < 1) throw new ArgumentOutOfRangeException(nameof(TestInterval), TestInterval, "test interval must be at least 1");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "dropout must be in [0, 1)");
        if (!double.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be finite");
    }
}
