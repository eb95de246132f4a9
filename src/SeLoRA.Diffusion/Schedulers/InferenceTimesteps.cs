namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// diffusers' timestep spacings, with numpy's arithmetic (linspace, arange with a float step, round half to even),
/// so that every step count gives the same integers as upstream.
/// </summary>
internal static class InferenceTimesteps
{
    public static void CheckStepCount(int numInferenceSteps, int numTrainTimesteps)
    {
        if (numInferenceSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps, "at least one inference step");
        if (numInferenceSteps > numTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps,
                $"num_inference_steps cannot exceed num_train_timesteps ({numTrainTimesteps})");
    }

    /// <summary>Ascending timesteps for the spacing; PNDM's order (it reverses them itself).</summary>
    public static long[] Ascending(SchedulerConfig config, int numInferenceSteps)
    {
        var n = config.NumTrainTimesteps;
        CheckStepCount(numInferenceSteps, n);
        switch (config.TimestepSpacing)
        {
            case TimestepSpacing.Linspace:
                return NumpyLinspace(0, n - 1, numInferenceSteps).Select(v => (long)Math.Round(v, MidpointRounding.ToEven)).ToArray();
            case TimestepSpacing.Leading:
            {
                var ratio = n / numInferenceSteps;
                return Enumerable.Range(0, numInferenceSteps).Select(i => (long)i * ratio + config.StepsOffset).ToArray();
            }
            case TimestepSpacing.Trailing:
            {
                var descending = TrailingDescending(n, numInferenceSteps);
                Array.Reverse(descending);
                return descending;
            }
            default:
                throw new NotSupportedException($"timestep_spacing {config.TimestepSpacing} is not supported");
        }
    }

    /// <summary>Descending timesteps for the spacing; DDIM's and DDPM's order.</summary>
    public static long[] Descending(SchedulerConfig config, int numInferenceSteps)
    {
        if (config.TimestepSpacing == TimestepSpacing.Trailing)
        {
            CheckStepCount(numInferenceSteps, config.NumTrainTimesteps);
            return TrailingDescending(config.NumTrainTimesteps, numInferenceSteps);
        }
        var ascending = Ascending(config, numInferenceSteps);
        Array.Reverse(ascending);
        return ascending;
    }

    // np.round(np.arange(n, 0, -n / steps)) - 1
    static long[] TrailingDescending(int n, int numInferenceSteps)
    {
        var ratio = (double)n / numInferenceSteps;
        return NumpyArange(n, 0, -ratio).Select(v => (long)Math.Round(v, MidpointRounding.ToEven) - 1).ToArray();
    }

    // numpy.linspace(start, stop, num): start + i * step, with the last value set to stop.
    static double[] NumpyLinspace(double start, double stop, int num)
    {
        var result = new double[num];
        if (num == 1)
        {
            result[0] = start;
            return result;
        }
        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++) result[i] = i * step + start;
        result[^1] = stop;
        return result;
    }

    // numpy.arange with a float step: length ceil((stop - start) / step), values start + i * (second - first).
    static double[] NumpyArange(double start, double stop, double step)
    {
        var length = (int)Math.Max(0, Math.Ceiling((stop - start) / step));
        var result = new double[length];
        if (length == 0) return result;
        result[0] = start;
        if (length == 1) return result;
        result[1] = start + step;
        var delta = result[1] - start;
        for (var i = 2; i < length; i++) result[i] = start + i * delta;
        return result;
    }
}
