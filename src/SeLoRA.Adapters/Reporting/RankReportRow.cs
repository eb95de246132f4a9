namespace SeLoRA.Adapters.Reporting;

/// <summary>One line of the rank report: the layer and its classification.</summary>
public sealed record RankReportRow(AdaptedLayerInfo Layer, LayerClassification Classification)
{
    public string Name => Layer.Name;
    public ModelComponent Component => Classification.Component;
    public LayerKind Kind => Classification.Kind;
    public AttentionRole Attention => Classification.Attention;
    public LayerPosition Position => Classification.Position;
    public int Rank => Layer.Rank;
    public long InFeatures => Layer.InFeatures;
    public long OutFeatures => Layer.OutFeatures;
    public long TrainableParameters => Layer.TrainableParameters;
}
