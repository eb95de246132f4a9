using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.DyLora;

/// <summary>
/// DyLoRA on a frozen linear layer: LoRA matrices of rank r_max (A [r_max, in], B [out, r_max]; state-dict keys
/// <c>lora_A.weight</c>, <c>lora_B.weight</c>) of which a forward uses only the first b ranks.
/// </summary>
/// <remarks>
/// <para>Scaling, precisely (selora-method.md section 2): the rank-b branch is
/// <c>delta_b(x) = (alpha / r_max) * (f B[:, :b]) (f A[:b, :] x)</c> with <c>f = sqrt(r_max / b)</c> on EACH of A and B,
/// i.e. <c>(alpha / r_max) * (r_max / b) * B_b A_b x = (alpha / b) B_b A_b x</c>. The two factors are applied as one scalar
/// on the output (<see cref="ScalingFor"/>), which equals scaling A_b and B_b up to rounding. (kohya's sd-scripts instead
/// multiplies the product once by sqrt(r_max / b); that is not what is implemented here.)</para>
/// <para>Training mode (<c>train()</c>, TorchSharp's default) uses <see cref="TrainingRank"/>, which a trainer sets once per
/// step with <see cref="SampleRank"/> or <see cref="DyLoraController.BeginStep"/>; eval mode uses <see cref="InferenceRank"/>.
/// At the same rank the two branches compute the same thing, so a model trained with DyLoRA can be evaluated at any rank.</para>
/// <para>A starts as loralib's kaiming_uniform_(a = sqrt(5)) from draw 0 of <see cref="DrawSeed"/>(seed, layer index), B at zero.</para>
/// </remarks>
public sealed class DyLoraLinear : LoraLinear
{
    readonly RankState ranks;

    public DyLoraLinear(string name, int layerIndex, Linear baseLayer, DyLoraConfig config)
        : base(name, layerIndex, baseLayer, Validated(config).MaxRank, config.Alpha / config.MaxRank, config.Dropout,
               a => InitA(a, config.Seed, layerIndex), nameof(DyLoraLinear))
    {
        Config = config;
        ranks = new RankState { Training = config.MaxRank, Inference = config.MaxRank };
        RegisterComponents();
    }

    public DyLoraConfig Config { get; }

    /// <summary>r_max.</summary>
    public int MaxRank => (int)A.shape[0];

    /// <summary>The rank the forward uses now: <see cref="TrainingRank"/> in training mode, <see cref="InferenceRank"/> in eval mode.</summary>
    public override int Rank => training ? ranks.Training : ranks.Inference;

    /// <summary>b of the current training step (r_max until the first draw).</summary>
    public int TrainingRank
    {
        get => ranks.Training;
        set => ranks.Training = CheckRank(value, nameof(TrainingRank));
    }

    /// <summary>The rank used in eval mode and by <see cref="IAdapter.DeltaWeight"/> and merge (default r_max).</summary>
    public int InferenceRank
    {
        get => ranks.Inference;
        set
        {
            ThrowIfMerged("changing the inference rank");
            ranks.Inference = CheckRank(value, nameof(InferenceRank));
        }
    }

    /// <summary>
    /// Draws this layer's own b for <paramref name="step"/> (see <see cref="DyLoraController.DrawRank"/>), sets
    /// <see cref="TrainingRank"/> and returns it. For one b shared by all layers use <see cref="DyLoraController"/>.
    /// </summary>
    public int SampleRank(long step)
    {
        var b = DyLoraController.DrawRank(Config.Seed, LayerIndex, step, Config.MinRank, MaxRank);
        ranks.Training = b;
        return b;
    }

    /// <summary>The output scale of the rank-b branch: (alpha / r_max) * sqrt(r_max / b) * sqrt(r_max / b).</summary>
    public double ScalingFor(int rank)
    {
        CheckRank(rank, nameof(rank));
        var f = Math.Sqrt((double)MaxRank / rank);
        return Scaling * f * f;
    }

    /// <summary>The dense update of the rank-<see cref="InferenceRank"/> branch.</summary>
    public override Tensor DeltaWeight() => DeltaWeight(ranks.Inference);

    /// <summary>The dense update of the rank-<paramref name="rank"/> branch, <c>ScalingFor(rank) * B_rank A_rank</c>.</summary>
    public Tensor DeltaWeight(int rank)
    {
        var scale = ScalingFor(rank);
        using (no_grad())
            return B.narrow(1, 0, rank).matmul(A.narrow(0, 0, rank)).mul_(scale);
    }

    protected override Tensor Delta(Tensor input)
    {
        var b = Rank;
        Tensor a, bm;
        if (training && Config.FrozenLowerRanks && b > 1)
        {
            // Ranks below b enter the forward detached, so only rank b gets a gradient.
            a = cat(new[] { A.narrow(0, 0, b - 1).detach(), A.narrow(0, b - 1, 1) }, 0);
            bm = cat(new[] { B.narrow(1, 0, b - 1).detach(), B.narrow(1, b - 1, 1) }, 1);
        }
        else
        {
            a = A.narrow(0, 0, b);
            bm = B.narrow(1, 0, b);
        }
        return nn.functional.linear(nn.functional.linear(DropoutInput(input), a), bm).mul(ScalingFor(b));
    }

    int CheckRank(int rank, string what)
    {
        if (rank < 1 || rank > MaxRank)
            throw new ArgumentOutOfRangeException(what, rank, $"rank of DyLoRA adapter '{Name}' must be in [1, {MaxRank}]");
        return rank;
    }

    static void InitA(Tensor a, ulong seed, int layerIndex)
    {
        using var generator = DrawSeed.Generator(seed, layerIndex, 0);
        Initializers.KaimingUniform_(a, Math.Sqrt(5), generator);
    }

    static DyLoraConfig Validated(DyLoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
    }

    // Plain ints, but kept off the module's fields so TorchSharp's reflection never looks at them.
    sealed class RankState
    {
        public int Training;
        public int Inference;
    }
}
