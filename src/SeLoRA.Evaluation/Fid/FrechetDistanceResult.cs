namespace SeLoRA.Evaluation.Fid;

/// <summary>A Fréchet distance and its parts.</summary>
/// <param name="Distance">||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrt(S1 S2)).</param>
/// <param name="MeanTerm">||mu1 - mu2||^2.</param>
/// <param name="TraceSigma1">Tr(S1) (without the epsilon offset).</param>
/// <param name="TraceSigma2">Tr(S2) (without the epsilon offset).</param>
/// <param name="TraceSqrtProduct">Tr(sqrt(S1 S2)), with the offset when <see cref="EpsilonApplied"/>.</param>
/// <param name="EpsilonApplied">True when pytorch-fid's fallback (eps I added to both covariances) was needed.</param>
/// <param name="Note">Why the fallback was used, or null.</param>
public sealed record FrechetDistanceResult(
    double Distance,
    double MeanTerm,
    double TraceSigma1,
    double TraceSigma2,
    double TraceSqrtProduct,
    bool EpsilonApplied,
    string? Note);
