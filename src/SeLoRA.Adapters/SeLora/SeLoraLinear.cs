using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.SeLora;

/// <summary>
/// A self-expanding LoRA layer (SeLoRA): LoRA that starts at rank r0 and can grow by one rank at a time without changing
/// its output: A' = [A ; k] with a fresh Kaiming row k, B' = [B, 0].
/// </summary>
/// <remarks>
/// Every random draw (initial A = draw 0, then trial rows and new rows in order) comes from a CPU generator seeded by
/// <see cref="DrawSeed.For"/>(run seed, layer index, draw count), so replicas agree without communication.
/// Modes: normal; trial (<see cref="BeginTrial"/>: the forward uses detached rank r+1 copies [A ; k], [B, 0] whose
/// gradients give FI_exp); probe (<see cref="BeginProbe"/>, the optional fast test: the normal forward plus a zero
/// column c on k x, so dL/dc = dL/db_new comes out of the normal backward).
/// </remarks>
public sealed class SeLoraLinear : LoraLinear
{
    readonly Growth growth;

    public SeLoraLinear(string name, int layerIndex, Linear baseLayer, SeLoraConfig config)
        : this(name, layerIndex, baseLayer, config, Validated(config).Seed)
    {
    }

    SeLoraLinear(string name, int layerIndex, Linear baseLayer, SeLoraConfig config, ulong seed)
        : base(name, layerIndex, baseLayer, config.InitialRank, config.ScalingFor(config.InitialRank), config.Dropout,
               a => DrawInto(a, seed, layerIndex, 0), nameof(SeLoraLinear))
    {
        Config = config;
        growth = new Growth { DrawCount = 1 };
        growth.TrialRow = DrawRow();
        RegisterComponents();
    }

    public SeLoraConfig Config { get; }

    /// <summary>Number of random draws made so far (the next draw uses this count in its seed).</summary>
    public long DrawCount => growth.DrawCount;

    /// <summary>The trial row k [1, in] (float32, CPU) the next test will use; kept when a test rejects.</summary>
    public Tensor TrialRow => growth.TrialRow!;

    public bool InTrial => growth.TrialA is not null;

    public bool ProbeActive => growth.ProbeColumn is not null;

    /// <summary>Whether <see cref="SeLoraConfig.MaxRank"/> forbids another expansion.</summary>
    public bool AtMaxRank => Config.MaxRank is { } max && Rank >= max;

    /// <summary>FI-Score of the current A and B from their .grad (the normal backward).</summary>
    public double OriginalScore()
    {
        using var scope = NewDisposeScope();
        return FisherScore.Of(A.grad, B.grad);
    }

    /// <summary>Switches the forward to the trial matrices [A ; k] and [B, 0] (fresh leaves, copies of the current weights).</summary>
    public void BeginTrial()
    {
        ThrowIfMerged("a trial pass");
        if (InTrial) throw new InvalidOperationException($"Adapter '{Name}' is already in a trial pass.");
        if (ProbeActive) throw new InvalidOperationException($"Adapter '{Name}' has an active probe; end it before a trial pass.");
        using var scope = NewDisposeScope();
        Tensor trialA, trialB;
        using (no_grad())
        {
            trialA = cat(new[] { A.detach(), TrialRow.to(A.dtype, A.device) }, 0);
            trialB = cat(new[] { B.detach(), zeros(new long[] { OutFeatures, 1 }, dtype: B.dtype, device: B.device) }, 1);
        }
        growth.TrialA = trialA.requires_grad_(true).DetachFromDisposeScope();
        growth.TrialB = trialB.requires_grad_(true).DetachFromDisposeScope();
    }

    /// <summary>FI-Score of the trial matrices from the gradients the trial backward left on them.</summary>
    public double TrialScore()
    {
        if (!InTrial) throw new InvalidOperationException($"Adapter '{Name}' is not in a trial pass.");
        using var scope = NewDisposeScope();
        return FisherScore.Of(growth.TrialA!.grad, growth.TrialB!.grad);
    }

    /// <summary>The trial matrices' gradients (null before the trial backward); for reducing them across replicas.</summary>
    public (Tensor? GradA, Tensor? GradB) TrialGradients()
    {
        if (!InTrial) throw new InvalidOperationException($"Adapter '{Name}' is not in a trial pass.");
        return (growth.TrialA!.grad, growth.TrialB!.grad);
    }

    public void EndTrial()
    {
        growth.TrialA?.Dispose();
        growth.TrialB?.Dispose();
        growth.TrialA = null;
        growth.TrialB = null;
    }

    /// <summary>Fast test (deviation, see <see cref="SeLoraConfig.FastTest"/>): adds a zero column on k x to the next forwards.</summary>
    public void BeginProbe()
    {
        ThrowIfMerged("a probe");
        if (InTrial) throw new InvalidOperationException($"Adapter '{Name}' is in a trial pass.");
        if (ProbeActive) throw new InvalidOperationException($"Adapter '{Name}' already has an active probe.");
        growth.ProbeRow = TrialRow.to(A.dtype, A.device, copy: true).DetachFromDisposeScope();
        growth.ProbeColumn = zeros(new long[] { OutFeatures, 1 }, dtype: B.dtype, device: B.device, requires_grad: true).DetachFromDisposeScope();
    }

    /// <summary>||dL/db_new||^2 from the probe column's gradient (0 if no backward ran).</summary>
    public double ProbeScore()
    {
        if (!ProbeActive) throw new InvalidOperationException($"Adapter '{Name}' has no active probe.");
        using var scope = NewDisposeScope();
        return FisherScore.Of(growth.ProbeColumn!.grad);
    }

    /// <summary>The probe column's gradient dL/db_new [out, 1], or null before the backward.</summary>
    public Tensor? ProbeGradient()
    {
        if (!ProbeActive) throw new InvalidOperationException($"Adapter '{Name}' has no active probe.");
        return growth.ProbeColumn!.grad;
    }

    public void EndProbe()
    {
        growth.ProbeColumn?.Dispose();
        growth.ProbeRow?.Dispose();
        growth.ProbeColumn = null;
        growth.ProbeRow = null;
    }

    /// <summary>
    /// Grows the rank by one: A' = [A ; fresh Kaiming row], B' = [B, 0] (the output does not change), then draws a fresh
    /// trial row. The old A and B leave the module; the returned record carries them for the optimizer.
    /// </summary>
    public RankExpansion Expand()
    {
        ThrowIfMerged("expanding");
        if (InTrial || ProbeActive) throw new InvalidOperationException($"Adapter '{Name}' cannot expand during a trial pass or probe.");
        if (AtMaxRank) throw new InvalidOperationException($"Adapter '{Name}' is at its maximum rank {Config.MaxRank}.");
        var oldA = A;
        var oldB = B;
        var oldRank = Rank;
        Tensor a2, b2;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            using var row = DrawRow();
            a2 = cat(new[] { oldA.detach(), row.to(oldA.dtype, oldA.device) }, 0).DetachFromDisposeScope();
            b2 = cat(new[] { oldB.detach(), zeros(new long[] { OutFeatures, 1 }, dtype: oldB.dtype, device: oldB.device) }, 1).DetachFromDisposeScope();
        }
        var newA = new Parameter(a2, requires_grad: true);
        var newB = new Parameter(b2, requires_grad: true);
        ReplaceMatrices(newA, newB);
        growth.TrialRow?.Dispose();
        growth.TrialRow = DrawRow();
        Scaling = Config.ScalingFor(Rank);
        return new RankExpansion(this, oldRank, oldA, oldB, newA, newB);
    }

    /// <summary>Restores the draw counter and trial row saved with a checkpoint (the trial row is copied).</summary>
    public void RestoreGrowthState(long drawCount, Tensor trialRow)
    {
        ArgumentNullException.ThrowIfNull(trialRow);
        if (drawCount < 1) throw new ArgumentOutOfRangeException(nameof(drawCount), drawCount, "at least the initial draw has been made");
        if (trialRow.dim() != 2 || trialRow.shape[0] != 1 || trialRow.shape[1] != InFeatures)
            throw new ArgumentException($"Adapter '{Name}': trial row shape [{string.Join(", ", trialRow.shape)}] is not [1, {InFeatures}].", nameof(trialRow));
        var copy = trialRow.to(ScalarType.Float32, CPU, copy: true).DetachFromDisposeScope();
        growth.TrialRow?.Dispose();
        growth.TrialRow = copy;
        growth.DrawCount = drawCount;
    }

    protected override void OnBeforeMerge()
    {
        if (InTrial || ProbeActive) throw new InvalidOperationException($"Adapter '{Name}' cannot merge during a trial pass or probe.");
    }

    protected override Tensor Delta(Tensor input)
    {
        if (growth.TrialA is { } trialA)
        {
            var dx = DropoutInput(input);
            return nn.functional.linear(nn.functional.linear(dx, trialA), growth.TrialB!).mul(Config.ScalingFor(Rank + 1));
        }
        if (growth.ProbeColumn is { } column)
        {
            var dx = DropoutInput(input);
            var main = nn.functional.linear(nn.functional.linear(dx, A), B);
            var probe = nn.functional.linear(nn.functional.linear(dx, growth.ProbeRow!), column);
            return (main + probe).mul(Scaling);
        }
        return base.Delta(input);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            EndTrial();
            EndProbe();
            growth.TrialRow?.Dispose();
            growth.TrialRow = null;
        }
        base.Dispose(disposing);
    }

    /// <summary>One row [1, in] ~ KaimingUniform(a = 0) (bound sqrt(6/in)), float32 on the CPU, from the next seeded draw.</summary>
    Tensor DrawRow()
    {
        var row = empty(new long[] { 1, InFeatures }, dtype: ScalarType.Float32).DetachFromDisposeScope();
        DrawInto(row, Config.Seed, LayerIndex, growth.DrawCount);
        growth.DrawCount++;
        return row;
    }

    static void DrawInto(Tensor target, ulong seed, int layerIndex, long drawCount)
    {
        using var generator = DrawSeed.Generator(seed, layerIndex, drawCount);
        Initializers.KaimingUniform_(target, 0, generator);
    }

    static SeLoraConfig Validated(SeLoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
    }

    // Held outside fields of tensor type: TorchSharp registers tensor fields as buffers, and these must not be state.
    sealed class Growth
    {
        public long DrawCount;
        public Tensor? TrialRow;
        public Tensor? TrialA;
        public Tensor? TrialB;
        public Tensor? ProbeRow;
        public Tensor? ProbeColumn;
    }
}
