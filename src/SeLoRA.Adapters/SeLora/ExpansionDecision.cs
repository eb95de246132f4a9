namespace SeLoRA.Adapters.SeLora;

/// <summary>One layer's outcome of an expansion test.</summary>
/// <param name="Ratio">FI_exp / FI_orig as <see cref="FisherScore.Ratio"/> defines it (NaN for 0/0).</param>
/// <param name="Reason">Why it does not expand when <paramref name="Expand"/> is false (null otherwise).</param>
public sealed record ExpansionDecision(
    int LayerIndex,
    string Name,
    int RankBefore,
    double OriginalScore,
    double TrialScore,
    double Ratio,
    bool Expand,
    string? Reason)
{
    public int RankAfter => Expand ? RankBefore + 1 : RankBefore;
}
