using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// diffusers' DDPMScheduler (v0.24 behaviour): the forward (noising) process used for training — AddNoise,
/// GetVelocity, the training target and SNR — and the ancestral DDPM reverse step for completeness.
/// </summary>
public sealed class DdpmScheduler
{
    long[] timesteps;

    /// <summary>A DDPM scheduler for the config; learned variance types are rejected when the config is read.</summary>
    public DdpmScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Schedule = NoiseSchedule.Create(config);
        timesteps = Enumerable.Range(0, config.NumTrainTimesteps).Reverse().Select(t => (long)t).ToArray();
    }

    /// <summary>The config this scheduler was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>Betas and alpha-bars.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>Number of training timesteps; training draws t uniformly from [0, N).</summary>
    public int NumTrainTimesteps => Config.NumTrainTimesteps;

    /// <summary>Standard deviation of the initial noise (1 for DDPM).</summary>
    public double InitNoiseSigma => 1.0;

    /// <summary>Inference steps set by <see cref="SetTimesteps"/>; null while every training timestep is used.</summary>
    public int? NumInferenceSteps { get; private set; }

    /// <summary>The reverse-process timesteps, descending (all N before <see cref="SetTimesteps"/>).</summary>
    public long[] Timesteps => (long[])timesteps.Clone();

    /// <summary>
    /// Forward process: sqrt(acp[t]) * x0 + sqrt(1 - acp[t]) * noise, with one timestep per sample (int64 tensor of
    /// shape [B], or a scalar) broadcast over the remaining dimensions. Coefficients are taken in the sample's dtype.
    /// </summary>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(originalSamples);
        ArgumentNullException.ThrowIfNull(noise);
        ArgumentNullException.ThrowIfNull(timesteps);
        using var scope = NewDisposeScope();
        var (sqrtAlpha, sqrtOneMinusAlpha) = Coefficients(originalSamples, timesteps);
        var result = sqrtAlpha * originalSamples + sqrtOneMinusAlpha * noise;
        return scope.MoveToOuter(result);
    }

    /// <summary>The v-prediction target: sqrt(acp[t]) * noise - sqrt(1 - acp[t]) * x0.</summary>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(noise);
        ArgumentNullException.ThrowIfNull(timesteps);
        using var scope = NewDisposeScope();
        var (sqrtAlpha, sqrtOneMinusAlpha) = Coefficients(sample, timesteps);
        var result = sqrtAlpha * noise - sqrtOneMinusAlpha * sample;
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// What the model is trained to predict for the configured prediction_type: the noise (epsilon), the velocity
    /// (v_prediction) or x0 (sample). Always a new tensor handle, so the caller may dispose it.
    /// </summary>
    public Tensor GetTarget(Tensor originalSamples, Tensor noise, Tensor timesteps) => Config.PredictionType switch
    {
        PredictionType.Epsilon => noise.alias(),
        PredictionType.Sample => originalSamples.alias(),
        PredictionType.VPrediction => GetVelocity(originalSamples, noise, timesteps),
        _ => throw new NotSupportedException($"prediction_type {Config.PredictionType} is not supported"),
    };

    /// <summary>
    /// SNR(t) = acp[t] / (1 - acp[t]) per timestep, float32 on the timesteps' device, computed as diffusers'
    /// training_utils.compute_snr does: (sqrt(acp) / sqrt(1 - acp))^2.
    /// </summary>
    public Tensor Snr(Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        using var scope = NewDisposeScope();
        var alphasCumprod = Schedule.AlphasCumprodTensor();
        var sqrtAlpha = alphasCumprod.sqrt();
        var sqrtOneMinus = (1.0 - alphasCumprod).sqrt();
        var index = timesteps.to(ScalarType.Int64, timesteps.device);
        var alpha = sqrtAlpha.to(timesteps.device).index_select(0, index.flatten()).reshape(timesteps.shape).to(ScalarType.Float32);
        var sigma = sqrtOneMinus.to(timesteps.device).index_select(0, index.flatten()).reshape(timesteps.shape).to(ScalarType.Float32);
        var result = (alpha / sigma).pow(2);
        return scope.MoveToOuter(result);
    }

    /// <summary>SNR of one timestep, acp / (1 - acp), in float64.</summary>
    public double Snr(long timestep) => Schedule.Snr(timestep);

    /// <summary>Training timesteps drawn uniformly from [0, N): int64 [batchSize].</summary>
    public Tensor SampleTimesteps(long batchSize, Device? device = null, Generator? generator = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "at least one sample");
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var drawn = randint(0, NumTrainTimesteps, [batchSize], ScalarType.Int64, generator?.device ?? CPU, generator: generator);
        return scope.MoveToOuter(drawn.to(device ?? CPU));
    }

    /// <summary>Picks inference timesteps with the configured spacing (descending), as diffusers' set_timesteps.</summary>
    public void SetTimesteps(int numInferenceSteps)
    {
        timesteps = InferenceTimesteps.Descending(Config, numInferenceSteps);
        NumInferenceSteps = numInferenceSteps;
    }

    /// <summary>The timestep the step from <paramref name="timestep"/> lands on (negative past the end).</summary>
    public long PreviousTimestep(long timestep) => timestep - NumTrainTimesteps / (NumInferenceSteps ?? NumTrainTimesteps);

    /// <summary>Identity: DDPM does not scale the model input. Returns a new handle to the same tensor.</summary>
    public Tensor ScaleModelInput(Tensor sample, long timestep) => sample.alias();

    /// <summary>
    /// One ancestral DDPM step x_t -> x_{t-1}: the posterior mean from the predicted x0 (clipped or thresholded as
    /// configured) plus, for t &gt; 0, noise of the configured variance drawn from <paramref name="generator"/>
    /// (torch's global generator when null).
    /// </summary>
    public Tensor Step(Tensor modelOutput, long timestep, Tensor sample, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        using var scope = NewDisposeScope();
        var prevTimestep = PreviousTimestep(timestep);
        var alphaProd = Schedule.AlphaCumprod32(timestep);
        var alphaProdPrev = prevTimestep >= 0 ? Schedule.AlphaCumprod32(prevTimestep) : 1f;
        var betaProd = 1 - alphaProd;
        var betaProdPrev = 1 - alphaProdPrev;
        var currentAlpha = alphaProd / alphaProdPrev;
        var currentBeta = 1 - currentAlpha;

        var predOriginal = Config.PredictionType switch
        {
            PredictionType.Epsilon => (sample - modelOutput * MathF.Sqrt(betaProd)) / MathF.Sqrt(alphaProd),
            PredictionType.Sample => modelOutput,
            PredictionType.VPrediction => sample * MathF.Sqrt(alphaProd) - modelOutput * MathF.Sqrt(betaProd),
            _ => throw new NotSupportedException($"prediction_type {Config.PredictionType} is not supported"),
        };
        predOriginal = SampleOps.ClipOrThreshold(predOriginal, Config);

        var predOriginalCoeff = MathF.Sqrt(alphaProdPrev) * currentBeta / betaProd;
        var currentSampleCoeff = MathF.Sqrt(currentAlpha) * betaProdPrev / betaProd;
        var prevSample = predOriginal * predOriginalCoeff + sample * currentSampleCoeff;

        if (timestep > 0)
        {
            var noise = SampleOps.Randn(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator);
            var variance = MathF.Max(betaProdPrev / betaProd * currentBeta, 1e-20f);
            var std = Config.VarianceType switch
            {
                VarianceType.FixedSmall => MathF.Sqrt(variance),
                VarianceType.FixedSmallLog => MathF.Exp(0.5f * MathF.Log(variance)),
                VarianceType.FixedLarge => MathF.Sqrt(currentBeta),
                _ => throw new NotSupportedException($"variance_type {Config.VarianceType} is not supported"),
            };
            prevSample = prevSample + noise * std;
        }
        return scope.MoveToOuter(prevSample);
    }

    // sqrt(acp[t]) and sqrt(1 - acp[t]) in the sample's dtype and device, shaped [B, 1, ...] to broadcast.
    (Tensor SqrtAlpha, Tensor SqrtOneMinusAlpha) Coefficients(Tensor sample, Tensor timesteps)
    {
        if (timesteps.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"timesteps must be an integer tensor, got {timesteps.dtype}", nameof(timesteps));
        var alphasCumprod = Schedule.AlphasCumprodTensor(sample.dtype, sample.device);
        var index = timesteps.to(ScalarType.Int64, sample.device).flatten();
        var alpha = alphasCumprod.index_select(0, index);
        var broadcastShape = new long[Math.Max(sample.dim(), 1)];
        Array.Fill(broadcastShape, 1L);
        broadcastShape[0] = index.shape[0];
        var sqrtAlpha = alpha.pow(0.5).reshape(broadcastShape);
        var sqrtOneMinusAlpha = (1 - alpha).pow(0.5).reshape(broadcastShape);
        return (sqrtAlpha, sqrtOneMinusAlpha);
    }
}
