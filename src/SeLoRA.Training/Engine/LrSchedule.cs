using SeLoRA.Training.Configuration;

namespace SeLoRA.Training.Engine;

/// <summary>diffusers' learning-rate schedules as pure functions of the step (1-based), so a resume needs only the step.</summary>
public static class LrSchedule
{
    public static double At(OptimizationSettings settings, long step, long totalSteps)
    {
        var lr = settings.Adam.LearningRate;
        var warmup = settings.WarmupSteps;
        var done = step - 1; // diffusers' schedulers count completed steps from 0
        if (settings.LrSchedule == LrScheduleKind.Constant) return lr;
        if (done < warmup) return lr * (double)done / Math.Max(1, warmup);
        var progress = (double)(done - warmup) / Math.Max(1, totalSteps - warmup);
        return settings.LrSchedule switch
        {
            LrScheduleKind.ConstantWithWarmup => lr,
            LrScheduleKind.Linear => lr * Math.Max(0, 1 - progress),
            LrScheduleKind.Cosine => lr * Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            _ => lr,
        };
    }
}
