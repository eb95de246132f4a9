namespace SeLoRA.Diffusion.Schedulers;

/// <summary>How the training betas are laid out over the timesteps (diffusers' <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary><c>linear</c>: betas evenly spaced from beta_start to beta_end.</summary>
    Linear,

    /// <summary><c>scaled_linear</c>: square roots evenly spaced, then squared (Stable Diffusion).</summary>
    ScaledLinear,

    /// <summary><c>squaredcos_cap_v2</c>: the GLIDE cosine schedule, betas capped at 0.999.</summary>
    SquaredcosCapV2,
}
