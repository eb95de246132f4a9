namespace SeLoRA.Diffusion.Schedulers;

/// <summary>DDPM's posterior variance choice (diffusers' <c>variance_type</c>); fixed_large_log and the learned kinds are not supported.</summary>
public enum VarianceType
{
    /// <summary><c>fixed_small</c>: the posterior variance beta~_t (the default).</summary>
    FixedSmall,

    /// <summary><c>fixed_small_log</c>: the same variance, applied through its log.</summary>
    FixedSmallLog,

    /// <summary><c>fixed_large</c>: beta_t.</summary>
    FixedLarge,
}
