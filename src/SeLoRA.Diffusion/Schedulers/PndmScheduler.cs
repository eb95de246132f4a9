using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// diffusers' PNDMScheduler (v0.24 behaviour), the scheduler Stable Diffusion v1.5 ships. With skip_prk_steps (SD1.5)
/// it is PLMS: a first Euler-like step, a second-order correction that re-runs the first interval (so the second
/// timestep appears twice), then Adams-Bashforth of order 2, 3 and 4 over the stored model outputs. Without it, 12
/// Runge-Kutta (PRK) steps warm up the history first. Fields diffusers' PNDM lacks (clip_sample, thresholding,
/// rescale_betas_zero_snr) are ignored as upstream ignores them; prediction_type sample is not supported.
/// The model-output history holds tensors: dispose the scheduler, or call <see cref="SetTimesteps"/>, to free them.
/// </summary>
public sealed class PndmScheduler : IInferenceScheduler
{
    const int PndmOrder = 4;

    readonly float finalAlphaCumprod;
    readonly List<Tensor> ets = [];
    long[] prkTimesteps = [];
    long[] plmsTimesteps = [];
    long[] timesteps = [];
    Tensor? curModelOutput;
    Tensor? curSample;
    int counter;

    /// <summary>A PNDM scheduler for the config (absent set_alpha_to_one means false, as in diffusers' PNDM).</summary>
    public PndmScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.PredictionType == PredictionType.Sample)
            throw new NotSupportedException("PNDM: prediction_type \"sample\" is not supported; use epsilon or v_prediction");
        Config = config;
        Schedule = NoiseSchedule.Create(config with { RescaleBetasZeroSnr = false });
        finalAlphaCumprod = (config.SetAlphaToOne ?? false) ? 1f : Schedule.AlphaCumprod32(0);
    }

    /// <inheritdoc />
    public string Name => "pndm";

    /// <inheritdoc />
    public SchedulerConfig Config { get; }

    /// <inheritdoc />
    public NoiseSchedule Schedule { get; }

    /// <summary>alpha-bar used past the last step: 1 with set_alpha_to_one, else alpha-bar[0].</summary>
    public double FinalAlphaCumprod => finalAlphaCumprod;

    /// <inheritdoc />
    public int NumInferenceSteps { get; private set; }

    /// <inheritdoc />
    public long[] Timesteps => (long[])timesteps.Clone();

    /// <summary>The Runge-Kutta warm-up timesteps (empty with skip_prk_steps).</summary>
    public long[] PrkTimesteps => (long[])prkTimesteps.Clone();

    /// <summary>The linear multi-step timesteps.</summary>
    public long[] PlmsTimesteps => (long[])plmsTimesteps.Clone();

    /// <summary>Steps taken since <see cref="SetTimesteps"/>.</summary>
    public int Counter => counter;

    /// <inheritdoc />
    public double InitNoiseSigma => 1.0;

    /// <inheritdoc />
    public void SetTimesteps(int numInferenceSteps)
    {
        var n = Config.NumTrainTimesteps;
        var ascending = InferenceTimesteps.Ascending(Config, numInferenceSteps);
        NumInferenceSteps = numInferenceSteps;
        if (Config.SkipPrkSteps)
        {
            // PLMS (crowsonkb's sampler): the second-to-last ascending entry repeats, for the warm-up correction.
            prkTimesteps = [];
            plmsTimesteps = [.. ascending[..^1], .. ascending[Math.Max(0, ascending.Length - 2)..^1], ascending[^1]];
            Array.Reverse(plmsTimesteps);
        }
        else
        {
            if (numInferenceSteps < PndmOrder)
                throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps,
                    $"PNDM with Runge-Kutta warm-up (skip_prk_steps false) needs at least {PndmOrder} inference steps");
            var half = n / numInferenceSteps / 2;
            // Each of the last 4 timesteps and its half-step midpoint, each point doubled, the ends trimmed.
            var points = ascending[^PndmOrder..].SelectMany(t => new[] { t, t + half }).ToArray();
            var doubled = points[..^1].SelectMany(t => new[] { t, t }).ToArray();
            prkTimesteps = doubled[1..^1];
            Array.Reverse(prkTimesteps);
            plmsTimesteps = ascending[..^3];
            Array.Reverse(plmsTimesteps);
        }
        timesteps = [.. prkTimesteps, .. plmsTimesteps];
        ResetState();
    }

    /// <inheritdoc />
    public Tensor ScaleModelInput(Tensor sample, long timestep) => sample.alias();

    /// <inheritdoc />
    public Tensor Step(Tensor modelOutput, long timestep, Tensor sample)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        if (NumInferenceSteps == 0)
            throw new InvalidOperationException("PNDM: call SetTimesteps before Step");
        return counter < prkTimesteps.Length && !Config.SkipPrkSteps
            ? StepPrk(modelOutput, timestep, sample)
            : StepPlms(modelOutput, timestep, sample);
    }

    /// <inheritdoc />
    public void Dispose() => ResetState();

    Tensor StepPrk(Tensor modelOutput, long timestep, Tensor sample)
    {
        using var scope = NewDisposeScope();
        var stride = Config.NumTrainTimesteps / NumInferenceSteps;
        var diffToPrev = counter % 2 == 1 ? 0 : stride / 2;
        var prevTimestep = timestep - diffToPrev;
        var baseTimestep = prkTimesteps[counter / 4 * 4];

        // Runge-Kutta weights 1/6, 1/3, 1/3, 1/6, accumulated the way diffusers does (python floats).
        switch (counter % 4)
        {
            case 0:
                Replace(ref curModelOutput, Accumulate(curModelOutput, modelOutput, 1.0 / 6));
                PushEts(modelOutput);
                Replace(ref curSample, Keep(sample));
                break;
            case 1:
            case 2:
                Replace(ref curModelOutput, Accumulate(curModelOutput, modelOutput, 1.0 / 3));
                break;
            default:
                modelOutput = Accumulate(curModelOutput, modelOutput, 1.0 / 6);
                Replace(ref curModelOutput, null);
                break;
        }

        var prevSample = PrevSample(curSample ?? sample, baseTimestep, prevTimestep, modelOutput);
        counter++;
        return scope.MoveToOuter(prevSample);
    }

    Tensor StepPlms(Tensor modelOutput, long timestep, Tensor sample)
    {
        if (!Config.SkipPrkSteps && ets.Count < 3)
            throw new InvalidOperationException("PNDM: linear multi-step steps need the 12 Runge-Kutta warm-up steps first");
        using var scope = NewDisposeScope();
        var stride = Config.NumTrainTimesteps / NumInferenceSteps;
        var prevTimestep = timestep - stride;

        if (counter != 1)
        {
            PushEts(modelOutput);
        }
        else
        {
            // The repeated timestep: step the first interval again from the stored sample.
            prevTimestep = timestep;
            timestep += stride;
        }

        Tensor output;
        if (ets.Count == 1 && counter == 0)
        {
            output = modelOutput;
            Replace(ref curSample, Keep(sample));
        }
        else if (ets.Count == 1 && counter == 1)
        {
            output = (modelOutput + ets[^1]) / 2;
            sample = curSample ?? throw new InvalidOperationException("PNDM: the warm-up sample is missing");
        }
        else if (ets.Count == 2)
        {
            output = (3 * ets[^1] - ets[^2]) / 2;
        }
        else if (ets.Count == 3)
        {
            output = (23 * ets[^1] - 16 * ets[^2] + 5 * ets[^3]) / 12;
        }
        else
        {
            output = (1.0 / 24) * (55 * ets[^1] - 59 * ets[^2] + 37 * ets[^3] - 9 * ets[^4]);
        }

        var prevSample = PrevSample(sample, timestep, prevTimestep, output);
        if (counter == 1 && ets.Count == 1) Replace(ref curSample, null);
        counter++;
        return scope.MoveToOuter(prevSample);
    }

    // Formula (9) of the PNDM paper, in diffusers' float32 scalar arithmetic.
    Tensor PrevSample(Tensor sample, long timestep, long prevTimestep, Tensor modelOutput)
    {
        var alphaProd = Schedule.AlphaCumprod32(timestep);
        var alphaProdPrev = prevTimestep >= 0 ? Schedule.AlphaCumprod32(prevTimestep) : finalAlphaCumprod;
        var betaProd = 1 - alphaProd;
        var betaProdPrev = 1 - alphaProdPrev;
        if (Config.PredictionType == PredictionType.VPrediction)
            modelOutput = modelOutput * MathF.Sqrt(alphaProd) + sample * MathF.Sqrt(betaProd);
        var sampleCoeff = MathF.Sqrt(alphaProdPrev / alphaProd);
        var denominator = alphaProd * MathF.Sqrt(betaProdPrev) + MathF.Sqrt(alphaProd * betaProd * alphaProdPrev);
        return sample * sampleCoeff - modelOutput * (alphaProdPrev - alphaProd) / denominator;
    }

    static Tensor Accumulate(Tensor? sum, Tensor value, double weight)
    {
        var weighted = weight * value;
        return sum is null ? weighted : sum + weighted;
    }

    // Only the last four model outputs are ever read; older ones are released.
    void PushEts(Tensor modelOutput)
    {
        ets.Add(Keep(modelOutput));
        if (ets.Count > PndmOrder)
        {
            ets[0].Dispose();
            ets.RemoveAt(0);
        }
    }

    // A handle the scheduler owns: survives the caller's dispose scopes and the caller's Dispose of the original.
    static Tensor Keep(Tensor tensor)
    {
        var kept = tensor.alias();
        kept.DetachFromDisposeScope();
        return kept;
    }

    static void Replace(ref Tensor? field, Tensor? value)
    {
        if (ReferenceEquals(field, value)) return;
        value?.DetachFromDisposeScope();
        field?.Dispose();
        field = value;
    }

    void ResetState()
    {
        foreach (var e in ets) e.Dispose();
        ets.Clear();
        Replace(ref curModelOutput, null);
        Replace(ref curSample, null);
        counter = 0;
    }
}
