namespace SeLoRA.Adapters.Optimization;

/// <summary>torch.optim.Adam's hyperparameters with its defaults (SeLoRA's official run: lr 1e-4, the rest default).</summary>
public sealed record AdamOptions
{
    public double LearningRate { get; init; } = 1e-3;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Eps { get; init; } = 1e-8;

    /// <summary>L2 penalty added to the gradient (Adam's, not AdamW's decoupled decay).</summary>
    public double WeightDecay { get; init; }

    public void Validate()
    {
        if (LearningRate < 0 || !double.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "invalid learning rate");
        if (Eps < 0) throw new ArgumentOutOfRangeException(nameof(Eps), Eps, "invalid eps");
        if (Beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "beta1 must be in [0, 1)");
        if (Beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "beta2 must be in [0, 1)");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "invalid weight decay");
    }
}
