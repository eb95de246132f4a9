using SeLoRA.Adapters.Core;

namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// One adapted layer as the report sees it: from a live <see cref="IAdapter"/> or from a saved file.
/// </summary>
/// <param name="Name">Full dotted module name (e.g. <c>text_model.encoder.layers.0.self_attn.q_proj</c>).</param>
/// <param name="Rank">Current rank.</param>
/// <param name="InFeatures">Input width of the adapted linear layer.</param>
/// <param name="OutFeatures">Output width.</param>
/// <param name="ReportedParameters">The adapter's own trainable parameter count when known (AdaLoRA's E, DyLoRA's
/// maximum rank); null means LoRA-style <c>rank * (in + out)</c>.</param>
public sealed record AdaptedLayerInfo(string Name, int Rank, long InFeatures, long OutFeatures, long? ReportedParameters = null)
{
    /// <summary>The reported count, else <c>rank * (in + out)</c>.</summary>
    public long TrainableParameters => ReportedParameters ?? (long)Rank * (InFeatures + OutFeatures);

    /// <summary>Name, rank and shape of a live adapter; the parameter count is the element count of its trainable parameters.</summary>
    public static AdaptedLayerInfo FromAdapter(IAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        var count = adapter.TrainableParameters().Sum(p => p.numel());
        return new AdaptedLayerInfo(adapter.Name, adapter.Rank, adapter.InFeatures, adapter.OutFeatures, count);
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new ArgumentException("An adapted layer has an empty name.");
        if (Rank < 0) throw new ArgumentException($"Layer '{Name}': rank {Rank} is negative.");
        if (InFeatures <= 0 || OutFeatures <= 0)
            throw new ArgumentException($"Layer '{Name}': features in {InFeatures}, out {OutFeatures} must be positive.");
        if (ReportedParameters is < 0) throw new ArgumentException($"Layer '{Name}': parameter count {ReportedParameters} is negative.");
    }
}
