using SeLoRA.Adapters.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.AdaLora;

/// <summary>
/// AdaLoRA's SVD-form adapter on a frozen linear layer, as PEFT's SVDLinear:
/// <c>y = W0 x + b0 + (dropout(x) (A * E)^T B^T) * scaling / (ranknum + 1e-5)</c> with A [r, in] (right singular vectors),
/// E [r, 1] (singular values), B [out, r] (left singular vectors). State-dict keys: <c>weight</c>, <c>bias</c> (the base),
/// <c>lora_A</c>, <c>lora_B</c>, <c>lora_E</c> (PEFT's saved keys once the adapter name is stripped).
/// </summary>
/// <remarks>
/// <para>Init (PEFT's reset_lora_parameters): E = 0, A and B ~ N(0, 0.02^2), so the adapted layer starts equal to the
/// base. A then B are drawn from one CPU generator seeded with <see cref="DrawSeed.For"/>(seed, layer index, 0).</para>
/// <para>ranknum is init_r for the whole run, also after <see cref="Prune"/> (as PEFT's resize keeps it), so pruning masked
/// triplets does not change the output. scaling = lora_alpha if positive, else init_r.</para>
/// <para>Masking (<see cref="ApplyMask"/>, driven by <see cref="RankAllocator"/>) zeroes E entries in place and keeps the
/// shapes, as PEFT does during training; <see cref="Prune"/> then drops the masked triplets. A module may end at rank 0: its
/// forward is the base layer's and its state (zero-size A, B, E) exports and loads like any other.</para>
/// </remarks>
public sealed class AdaLoraLinear : AdaptedLinear
{
    // Field names are PEFT's (state-dict keys).
    Parameter lora_A;
    Parameter lora_B;
    Parameter lora_E;
    readonly nn.Module<Tensor, Tensor> lora_dropout;
    readonly MaskState mask;

    /// <summary>A module of rank init_r, or of <paramref name="rank"/> triplets (e.g. 0..init_r to load a pruned checkpoint).</summary>
    public AdaLoraLinear(string name, int layerIndex, Linear baseLayer, AdaLoraConfig config, int? rank = null)
        : base(name, layerIndex, baseLayer, nameof(AdaLoraLinear))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var r = rank ?? config.InitR;
        if (r < 0) throw new ArgumentOutOfRangeException(nameof(rank), r, $"rank of AdaLoRA adapter '{name}' must be >= 0");
        Config = config;
        RankNum = config.InitR;
        Scaling = config.ScalingFor(config.InitR);
        var dtype = BaseWeight.dtype;
        var device = BaseWeight.device;
        var a = empty(new long[] { r, InFeatures }, dtype: ScalarType.Float32);
        var b = empty(new long[] { OutFeatures, r }, dtype: ScalarType.Float32);
        using (var generator = DrawSeed.Generator(config.Seed, layerIndex, 0))
        {
            Initializers.Normal_(a, 0, 0.02, generator);
            Initializers.Normal_(b, 0, 0.02, generator);
        }
        // Parameters take over their tensors' handles, so they are built outside any dispose scope.
        lora_A = new Parameter(a.to(dtype, device, disposeAfter: true), requires_grad: true);
        lora_B = new Parameter(b.to(dtype, device, disposeAfter: true), requires_grad: true);
        lora_E = new Parameter(zeros(new long[] { r, 1 }, dtype: dtype, device: device), requires_grad: true);
        lora_dropout = config.Dropout > 0 ? nn.Dropout(config.Dropout) : nn.Identity();
        mask = new MaskState { Kept = Enumerable.Repeat(true, r).ToArray() };
        RegisterComponents();
    }

    public AdaLoraConfig Config { get; }

    /// <summary>A [r, in].</summary>
    public Parameter A => lora_A;

    /// <summary>B [out, r].</summary>
    public Parameter B => lora_B;

    /// <summary>E [r, 1].</summary>
    public Parameter E => lora_E;

    /// <summary>Number of triplets held (rows of A), masked or not.</summary>
    public int AllocatedRank => (int)lora_E.shape[0];

    /// <summary>Triplets kept by the last mask (all of them until the first masking).</summary>
    public override int Rank => mask.Kept.Count(k => k);

    /// <summary>Which triplets the last mask kept (length <see cref="AllocatedRank"/>).</summary>
    public IReadOnlyList<bool> RankMask => mask.Kept;

    /// <summary>PEFT's ranknum: init_r, fixed.</summary>
    public double RankNum { get; }

    /// <summary>lora_alpha (or init_r when lora_alpha is not positive).</summary>
    public double Scaling { get; }

    /// <summary>The factor on B (A * E): scaling / (ranknum + 1e-5).</summary>
    public double OutputScale => Scaling / (RankNum + 1e-5);

    public override IEnumerable<Parameter> TrainableParameters()
    {
        yield return lora_A;
        yield return lora_B;
        yield return lora_E;
    }

    public override Tensor DeltaWeight()
    {
        using (no_grad())
            return lora_B.matmul(lora_A * lora_E).mul_(Scaling).div_(RankNum + 1e-5);
    }

    protected override Tensor Delta(Tensor input)
        => nn.functional.linear(nn.functional.linear(lora_dropout.call(input), lora_A * lora_E), lora_B).mul(Scaling).div(RankNum + 1e-5);

    /// <summary>Zeroes E where <paramref name="keep"/> is false (in place) and records the mask.</summary>
    public void ApplyMask(IReadOnlyList<bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        ThrowIfMerged("masking");
        if (keep.Count != AllocatedRank)
            throw new ArgumentException($"Mask for AdaLoRA adapter '{Name}' has {keep.Count} entries; the adapter holds {AllocatedRank} triplets.", nameof(keep));
        var kept = keep.ToArray();
        if (kept.Any(k => !k))
        {
            using var scope = NewDisposeScope();
            using var drop = tensor(kept.Select(k => !k).ToArray(), device: lora_E.device).reshape(AllocatedRank, 1);
            using (no_grad()) lora_E.masked_fill_(drop, 0.0);
        }
        mask.Kept = kept;
    }

    /// <summary>
    /// Drops the triplets the last mask removed (PEFT's resize by rank pattern): A, B and E are replaced by parameters
    /// holding the kept triplets only; the output does not change. The old parameters leave the module and are returned.
    /// </summary>
    public AdaLoraPruning Prune()
    {
        ThrowIfMerged("pruning");
        var oldA = lora_A;
        var oldB = lora_B;
        var oldE = lora_E;
        var oldRank = AllocatedRank;
        var indices = Enumerable.Range(0, oldRank).Where(i => mask.Kept[i]).Select(i => (long)i).ToArray();
        Tensor a, b, e;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var index = tensor(indices, dtype: ScalarType.Int64, device: oldE.device);
            a = oldA.detach().index_select(0, index).DetachFromDisposeScope();
            b = oldB.detach().index_select(1, index).DetachFromDisposeScope();
            e = oldE.detach().index_select(0, index).DetachFromDisposeScope();
        }
        lora_A = new Parameter(a, requires_grad: true);
        lora_B = new Parameter(b, requires_grad: true);
        lora_E = new Parameter(e, requires_grad: true);
        ConditionallyRegisterParameter(nameof(lora_A), lora_A);
        ConditionallyRegisterParameter(nameof(lora_B), lora_B);
        ConditionallyRegisterParameter(nameof(lora_E), lora_E);
        mask.Kept = Enumerable.Repeat(true, indices.Length).ToArray();
        return new AdaLoraPruning(this, oldRank, oldA, oldB, oldE, lora_A, lora_B, lora_E);
    }

    sealed class MaskState
    {
        public bool[] Kept = [];
    }
}
