using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// The training noise schedule: betas, alphas = 1 - betas and their cumulative product. diffusers builds these as
/// float32 tensors, so they are computed here in the same float32 arithmetic (reproducing the reference values
/// bit for bit) and kept as float64 arrays that hold those float32 values exactly; step coefficients then repeat
/// diffusers' float32 scalar arithmetic.
/// </summary>
public sealed class NoiseSchedule
{
    readonly double[] betas;
    readonly double[] alphas;
    readonly double[] alphasCumprod;
    readonly float[] alphasCumprod32;

    NoiseSchedule(float[] betas32, float[] alphas32, float[] alphasCumprod32)
    {
        betas = Array.ConvertAll(betas32, v => (double)v);
        alphas = Array.ConvertAll(alphas32, v => (double)v);
        alphasCumprod = Array.ConvertAll(alphasCumprod32, v => (double)v);
        this.alphasCumprod32 = alphasCumprod32;
    }

    /// <summary>Builds the schedule a diffusers scheduler with this config would build.</summary>
    public static NoiseSchedule Create(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var n = config.NumTrainTimesteps;
        float[] betas;
        if (config.TrainedBetas is { } trained)
        {
            betas = trained.Select(b => (float)b).ToArray();
        }
        else
        {
            betas = config.BetaSchedule switch
            {
                BetaSchedule.Linear => Linspace32(config.BetaStart, config.BetaEnd, n),
                BetaSchedule.ScaledLinear => Linspace32(Math.Sqrt(config.BetaStart), Math.Sqrt(config.BetaEnd), n).Select(r => r * r).ToArray(),
                BetaSchedule.SquaredcosCapV2 => CosineBetas(n),
                _ => throw new NotSupportedException($"beta_schedule {config.BetaSchedule} is not supported"),
            };
        }
        if (config.RescaleBetasZeroSnr) betas = RescaleZeroTerminalSnr(betas);
        var alphas = betas.Select(b => 1f - b).ToArray();
        return new NoiseSchedule(betas, alphas, Cumprod32(alphas));
    }

    /// <summary>Number of training timesteps (length of every array here).</summary>
    public int NumTrainTimesteps => betas.Length;

    /// <summary>beta_t, t = 0 .. N-1.</summary>
    public IReadOnlyList<double> Betas => Array.AsReadOnly(betas);

    /// <summary>alpha_t = 1 - beta_t.</summary>
    public IReadOnlyList<double> Alphas => Array.AsReadOnly(alphas);

    /// <summary>alpha-bar_t = prod_{s &lt;= t} alpha_s (diffusers' <c>alphas_cumprod</c>).</summary>
    public IReadOnlyList<double> AlphasCumprod => Array.AsReadOnly(alphasCumprod);

    /// <summary>alpha-bar_t for one timestep.</summary>
    public double AlphaCumprod(long timestep) => alphasCumprod[CheckTimestep(timestep)];

    /// <summary>Signal-to-noise ratio alpha-bar_t / (1 - alpha-bar_t), as used by Min-SNR loss weighting.</summary>
    public double Snr(long timestep)
    {
        var a = AlphaCumprod(timestep);
        return a / (1.0 - a);
    }

    /// <summary>A new tensor of all alpha-bar values, [N], in the given dtype and device (default float32, CPU).</summary>
    public Tensor AlphasCumprodTensor(ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var result = tensor(alphasCumprod32).to(dtype, device ?? CPU);
        return scope.MoveToOuter(result);
    }

    /// <summary>alpha-bar_t exactly as diffusers' float32 tensor holds it.</summary>
    internal float AlphaCumprod32(long timestep) => alphasCumprod32[CheckTimestep(timestep)];

    int CheckTimestep(long timestep)
    {
        if (timestep < 0 || timestep >= alphasCumprod.Length)
            throw new ArgumentOutOfRangeException(nameof(timestep), timestep,
                $"timestep must lie in [0, {alphasCumprod.Length - 1}] (num_train_timesteps {alphasCumprod.Length})");
        return (int)timestep;
    }

    // GLIDE cosine schedule; diffusers evaluates it in Python floats, then stores float32.
    static float[] CosineBetas(int n, double maxBeta = 0.999)
    {
        static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
        var result = new float[n];
        for (var i = 0; i < n; i++)
        {
            var t1 = (double)i / n;
            var t2 = (double)(i + 1) / n;
            result[i] = (float)Math.Min(1 - AlphaBar(t2) / AlphaBar(t1), maxBeta);
        }
        return result;
    }

    // Lin et al. 2023 (arXiv 2305.08891) Algorithm 1, in the float32 arithmetic of diffusers' tensor code.
    static float[] RescaleZeroTerminalSnr(float[] betas)
    {
        var n = betas.Length;
        var alphasBarSqrt = Cumprod32(betas.Select(b => 1f - b).ToArray()).Select(MathF.Sqrt).ToArray();
        var first = alphasBarSqrt[0];
        var last = alphasBarSqrt[^1];
        var scale = first / (first - last);
        var alphasBar = alphasBarSqrt.Select(a => (a - last) * scale).Select(a => a * a).ToArray();
        var rescaled = new float[n];
        rescaled[0] = 1f - alphasBar[0];
        for (var i = 1; i < n; i++) rescaled[i] = 1f - alphasBar[i] / alphasBar[i - 1];
        return rescaled;
    }

    // torch.cumprod on a CPU float32 tensor: a double accumulator, each partial product rounded to float32.
    static float[] Cumprod32(float[] values)
    {
        var result = new float[values.Length];
        var product = 1.0;
        for (var i = 0; i < values.Length; i++)
        {
            product *= values[i];
            result[i] = (float)product;
        }
        return result;
    }

    /// <summary>
    /// torch.linspace(start, end, n, dtype=float32) as torch 1.13's CPU kernel (AVX2 build) computes it, which is
    /// what the diffusers v0.24 reference values come from: step = (end - start) / (n - 1) in float32; pairs of
    /// 8-float vectors whose first lane is start + step * idx (or end - step * (n - 1 - idx) past the midpoint),
    /// fused by the compiler, and whose lane k adds k * step (fused); the last n mod 16 entries element by element.
    /// Newer libtorch evaluates every entry on its own, which moves about one entry in five by an ulp; the
    /// resulting alphas_cumprod then differs from diffusers' by up to 2.4e-7 relative.
    /// </summary>
    internal static float[] Linspace32(double startValue, double endValue, int n)
    {
        var start = (float)startValue;
        var end = (float)endValue;
        if (n == 1) return [start];
        const int lanes = 8;
        var step = (end - start) / (n - 1);
        var halfway = n / 2;
        float First(int idx) => idx < halfway
            ? MathF.FusedMultiplyAdd(step, idx, start)
            : MathF.FusedMultiplyAdd(-step, n - idx - 1, end);
        var result = new float[n];
        var i = 0;
        var vectorized = n / (2 * lanes) * (2 * lanes); // the kernel's loop takes vectors in pairs
        for (; i < vectorized; i += lanes)
        {
            var lane0 = First(i);
            result[i] = lane0;
            for (var k = 1; k < lanes; k++) result[i + k] = MathF.FusedMultiplyAdd(k, step, lane0);
        }
        for (; i < n; i++) result[i] = First(i);
        return result;
    }

}
