using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// diffusers' DDIMScheduler (v0.24 behaviour). Deterministic with eta 0 (the default); eta &gt; 0 adds noise drawn
/// from an explicit generator. Absent set_alpha_to_one means true here, as in diffusers' DDIM.
/// </summary>
public sealed class DdimScheduler : IInferenceScheduler
{
    long[] timesteps = [];
    readonly float finalAlphaCumprod;

    /// <summary>A DDIM scheduler; <paramref name="eta"/> &gt; 0 needs <paramref name="generator"/> for its noise.</summary>
    public DdimScheduler(SchedulerConfig config, double eta = 0.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!(eta >= 0)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be non-negative");
        if (eta > 0 && generator is null)
            throw new ArgumentException("DDIM with eta > 0 draws noise: pass an explicit generator so runs are reproducible", nameof(generator));
        Config = config;
        Eta = eta;
        Generator = generator;
        Schedule = NoiseSchedule.Create(config);
        finalAlphaCumprod = (config.SetAlphaToOne ?? true) ? 1f : Schedule.AlphaCumprod32(0);
    }

    /// <inheritdoc />
    public string Name => "ddim";

    /// <inheritdoc />
    public SchedulerConfig Config { get; }

    /// <inheritdoc />
    public NoiseSchedule Schedule { get; }

    /// <summary>The stochasticity used by <see cref="Step(Tensor, long, Tensor)"/> (0: deterministic DDIM).</summary>
    public double Eta { get; }

    /// <summary>The generator for eta &gt; 0 noise; null when eta is 0.</summary>
    public Generator? Generator { get; }

    /// <summary>alpha-bar used past the last step: 1 with set_alpha_to_one, else alpha-bar[0].</summary>
    public double FinalAlphaCumprod => finalAlphaCumprod;

    /// <inheritdoc />
    public int NumInferenceSteps { get; private set; }

    /// <inheritdoc />
    public long[] Timesteps => (long[])timesteps.Clone();

    /// <inheritdoc />
    public double InitNoiseSigma => 1.0;

    /// <inheritdoc />
    public void SetTimesteps(int numInferenceSteps)
    {
        timesteps = InferenceTimesteps.Descending(Config, numInferenceSteps);
        NumInferenceSteps = numInferenceSteps;
    }

    /// <inheritdoc />
    public Tensor ScaleModelInput(Tensor sample, long timestep) => sample.alias();

    /// <inheritdoc />
    public Tensor Step(Tensor modelOutput, long timestep, Tensor sample) => Step(modelOutput, timestep, sample, Eta, Generator);

    /// <summary>
    /// One DDIM step with an explicit eta. For eta &gt; 0 the noise comes from <paramref name="varianceNoise"/> or,
    /// when that is null, from <paramref name="generator"/> (one of them is required).
    /// <paramref name="useClippedModelOutput"/> re-derives epsilon from the clipped x0, as diffusers' flag does.
    /// </summary>
    public Tensor Step(Tensor modelOutput, long timestep, Tensor sample, double eta, Generator? generator,
        bool useClippedModelOutput = false, Tensor? varianceNoise = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        if (NumInferenceSteps == 0)
            throw new InvalidOperationException("DDIM: call SetTimesteps before Step");
        if (!(eta >= 0)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be non-negative");
        if (eta > 0 && varianceNoise is not null && generator is not null)
            throw new ArgumentException("pass either a generator or varianceNoise, not both");
        if (eta > 0 && varianceNoise is null && generator is null)
            throw new ArgumentException("DDIM with eta > 0 needs a generator or varianceNoise", nameof(generator));

        using var scope = NewDisposeScope();
        var prevTimestep = timestep - Config.NumTrainTimesteps / NumInferenceSteps;
        var alphaProd = Schedule.AlphaCumprod32(timestep);
        var alphaProdPrev = AlphaProdPrev(prevTimestep);
        var betaProd = 1 - alphaProd;
        var sqrtAlpha = MathF.Sqrt(alphaProd);
        var sqrtBeta = MathF.Sqrt(betaProd);

        Tensor predOriginal, predEpsilon;
        switch (Config.PredictionType)
        {
            case PredictionType.Epsilon:
                predOriginal = (sample - modelOutput * sqrtBeta) / sqrtAlpha;
                predEpsilon = modelOutput;
                break;
            case PredictionType.Sample:
                predOriginal = modelOutput;
                predEpsilon = (sample - predOriginal * sqrtAlpha) / sqrtBeta;
                break;
            case PredictionType.VPrediction:
                predOriginal = sample * sqrtAlpha - modelOutput * sqrtBeta;
                predEpsilon = modelOutput * sqrtAlpha + sample * sqrtBeta;
                break;
            default:
                throw new NotSupportedException($"prediction_type {Config.PredictionType} is not supported");
        }
        predOriginal = SampleOps.ClipOrThreshold(predOriginal, Config);

        var variance = Variance32(timestep, prevTimestep);
        var stdDev = (float)eta * MathF.Sqrt(variance);
        if (useClippedModelOutput) predEpsilon = (sample - predOriginal * sqrtAlpha) / sqrtBeta;

        var direction = predEpsilon * MathF.Sqrt(1 - alphaProdPrev - stdDev * stdDev);
        var prevSample = predOriginal * MathF.Sqrt(alphaProdPrev) + direction;
        if (eta > 0)
        {
            var noise = varianceNoise ?? SampleOps.Randn(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator);
            prevSample = prevSample + noise * stdDev;
        }
        return scope.MoveToOuter(prevSample);
    }

    /// <summary>
    /// DDIM's sigma_t^2 / eta^2 between two timesteps: (1 - acp_prev) / (1 - acp_t) * (1 - acp_t / acp_prev), with
    /// a negative previous timestep meaning the final alpha-bar (diffusers' <c>_get_variance</c>).
    /// </summary>
    public double GetVariance(long timestep, long prevTimestep) => Variance32(timestep, prevTimestep);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    float AlphaProdPrev(long prevTimestep) => prevTimestep >= 0 ? Schedule.AlphaCumprod32(prevTimestep) : finalAlphaCumprod;

    float Variance32(long timestep, long prevTimestep)
    {
        var alphaProd = Schedule.AlphaCumprod32(timestep);
        var alphaProdPrev = AlphaProdPrev(prevTimestep);
        var betaProd = 1 - alphaProd;
        var betaProdPrev = 1 - alphaProdPrev;
        return betaProdPrev / betaProd * (1 - alphaProd / alphaProdPrev);
    }
}
