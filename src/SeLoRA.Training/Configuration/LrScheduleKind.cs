namespace SeLoRA.Training.Configuration;

/// <summary>Learning-rate schedules (diffusers' names); the paper uses none (constant).</summary>
public enum LrScheduleKind
{
    Constant,
    ConstantWithWarmup,
    Linear,
    Cosine,
}
