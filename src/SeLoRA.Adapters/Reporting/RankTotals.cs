namespace SeLoRA.Adapters.Reporting;

/// <summary>Totals over a set of adapted layers.</summary>
public sealed record RankTotals(int Layers, long RankSum, long TrainableParameters)
{
    public double MeanRank => Layers == 0 ? 0 : (double)RankSum / Layers;
}
