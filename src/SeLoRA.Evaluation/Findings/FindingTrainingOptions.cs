namespace SeLoRA.Evaluation.Findings;

/// <summary>How <see cref="FindingClassifierTrainer"/> trains a finding classifier. The defaults train on ~800 images of
/// 64 px in well under a minute on two CPU cores.</summary>
/// <param name="Resolution">Input side of the classifier.</param>
/// <param name="Findings">Targets (null = all of <see cref="FindingTargets.All"/>).</param>
/// <param name="Width">Channels of the first convolution.</param>
/// <param name="Epochs">Passes over the training images.</param>
/// <param name="BatchSize">Images per Adam step.</param>
/// <param name="LearningRate">Adam's initial step size, decayed to zero by a cosine over all steps.</param>
/// <param name="HeldOutFraction">Share of the images held back to measure the classifier's own accuracy.</param>
/// <param name="Seed">Initial weights, hold-out draw and batch order.</param>
/// <param name="BalanceClasses">Weights each finding's positives by negatives / positives in the loss, so the 0.5
/// threshold balances sensitivity and specificity for rare findings (pneumothorax is 10% of SynthCXR).</param>
public sealed record FindingTrainingOptions(
    int Resolution = 64,
    IReadOnlyList<Finding>? Findings = null,
    int Width = 8,
    int Epochs = 45,
    int BatchSize = 16,
    double LearningRate = 6e-3,
    double HeldOutFraction = 0.2,
    long Seed = 0,
    bool BalanceClasses = true)
{
    public static FindingTrainingOptions Default { get; } = new();

    public IReadOnlyList<Finding> FindingsOrAll => Findings ?? FindingTargets.All;

    internal void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "at least one epoch.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be positive.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "learning rate must be positive.");
        if (!(HeldOutFraction > 0 && HeldOutFraction < 1)) throw new ArgumentOutOfRangeException(nameof(HeldOutFraction), HeldOutFraction, "held-out fraction must be in (0, 1).");
    }
}
