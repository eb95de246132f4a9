namespace SeLoRA.Diffusion.Schedulers;

/// <summary>What the denoising model predicts (diffusers' <c>prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary><c>epsilon</c>: the added noise.</summary>
    Epsilon,

    /// <summary><c>v_prediction</c>: v = sqrt(acp) * noise - sqrt(1 - acp) * x0.</summary>
    VPrediction,

    /// <summary><c>sample</c>: the clean sample x0 itself.</summary>
    Sample,
}
