namespace SeLoRA.Diffusion.Schedulers;

/// <summary>How inference timesteps are picked from the training range (diffusers' <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary><c>leading</c>: multiples of num_train_timesteps / steps, plus steps_offset (SD1.5).</summary>
    Leading,

    /// <summary><c>trailing</c>: counted down from the last training timestep.</summary>
    Trailing,

    /// <summary><c>linspace</c>: evenly spaced over [0, num_train_timesteps - 1], rounded.</summary>
    Linspace,
}
