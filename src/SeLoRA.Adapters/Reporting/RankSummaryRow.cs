namespace SeLoRA.Adapters.Reporting;

/// <summary>Ranks of one (component, kind, attention) group: the paper's finding is that q and k of the text encoder and of
/// the UNet cross-attention get the largest ranks.</summary>
public sealed record RankSummaryRow(
    ModelComponent Component,
    LayerKind Kind,
    AttentionRole Attention,
    int Layers,
    double MeanRank,
    int MinRank,
    int MaxRank,
    long TrainableParameters);
