using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.AdaLora;

/// <summary>
/// AdaLoRA's rank allocator, as PEFT's RankAllocator plus AdaLoraModel.update_and_allocate.
/// </summary>
/// <remarks>
/// <para>Call <see cref="UpdateAndAllocate"/> EVERY training step, after the backward and the optimizer step and before the
/// gradients are cleared (PEFT's order; ranks never change otherwise). Distributed: reduce the gradients first, so every
/// replica computes the same scores and masks.</para>
/// <para>Importance of an entry p: I = |p * dL/dp|; sensitivity I' = beta1 I' + (1 - beta1) I; uncertainty
/// U' = beta2 U' + (1 - beta2) |I - I'| (with the updated I'); score s = I' U'. Triplet i of a module:
/// s(E_i) + mean_j s(A_ij) + mean_j s(B_ji). A missing gradient counts as zero.</para>
/// <para>Budget b(t) (PEFT's budget_schedule): init_bgt = sum of the modules' ranks at construction, target_bgt =
/// target_r * modules; t &lt;= tinit: init_bgt, no mask; t &gt; T - tfinal: target_bgt, mask; otherwise
/// <c>floor((init_bgt - target_bgt) * (1 - (t - tinit) / (T - tfinal - tinit))^3 + target_bgt)</c>, mask when t % deltaT == 0.</para>
/// <para>Masking (mask_to_budget): threshold = the k-th smallest triplet score over all modules, k = init_bgt - b(t);
/// every E entry whose score is &lt;= threshold is set to 0 (ties at the threshold all go; k &lt;= 0 masks nothing).
/// At t = T - tfinal the final pattern is fixed and the scores reset; after it that pattern is re-applied each step.</para>
/// </remarks>
public sealed class RankAllocator : IDisposable
{
    readonly List<AdaLoraLinear> layers;
    readonly Dictionary<Parameter, Importance> importance = new(ReferenceEqualityComparer.Instance);

    public RankAllocator(IEnumerable<AdaLoraLinear> layers, AdaLoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.layers = layers.OrderBy(l => l.LayerIndex).ToList();
        var duplicate = this.layers.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Module name '{duplicate.Key}' appears twice; rank patterns are keyed by name.", nameof(layers));
        Config = config;
        InitialBudget = this.layers.Sum(l => l.AllocatedRank);
        TargetBudget = config.TargetR * this.layers.Count;
    }

    public AdaLoraConfig Config { get; }

    /// <summary>The modules, ordered by layer index (the order of <see cref="TripletScores"/>).</summary>
    public IReadOnlyList<AdaLoraLinear> Layers => layers;

    /// <summary>init_bgt: the number of triplets at construction.</summary>
    public int InitialBudget { get; }

    /// <summary>target_bgt = target_r * number of modules.</summary>
    public int TargetBudget { get; }

    /// <summary>The last rank pattern computed (module name to kept triplets); after step T - tfinal, the final one.</summary>
    public IReadOnlyDictionary<string, bool[]>? RankPattern { get; private set; }

    /// <summary>Every module's rank under its current mask (module name to kept triplets), in layer order.</summary>
    public IReadOnlyDictionary<string, int> Ranks => layers.ToDictionary(l => l.Name, l => l.Rank);

    /// <summary>PEFT's budget_schedule(step).</summary>
    public (int Budget, bool Mask) BudgetSchedule(long step)
    {
        var tinit = Config.TInit;
        var tfinal = Config.TFinal;
        var total = Config.TotalSteps;
        if (step <= tinit) return (InitialBudget, false);
        if (step > total - tfinal) return (TargetBudget, true);
        var coefficient = 1 - (double)(step - tinit) / (total - tfinal - tinit);
        var budget = (int)((InitialBudget - TargetBudget) * Math.Pow(coefficient, 3) + TargetBudget);
        return (budget, step % Config.DeltaT == 0);
    }

    /// <summary>One step of the allocator (PEFT's AdaLoraModel.update_and_allocate).</summary>
    public RankAllocation UpdateAndAllocate(long step)
    {
        var finalStep = Config.TotalSteps - Config.TFinal;
        if (step < finalStep)
        {
            UpdateImportance();
            var (budget, mask) = BudgetSchedule(step);
            if (!mask) return new RankAllocation(step, budget, false, null);
            var pattern = MaskToBudget(budget);
            RankPattern = pattern;
            return new RankAllocation(step, budget, true, pattern);
        }
        if (step == finalStep)
        {
            var (budget, _) = BudgetSchedule(step);
            var pattern = MaskToBudget(budget);
            RankPattern = pattern;
            ResetImportance();
            return new RankAllocation(step, budget, true, pattern);
        }
        var final = RankPattern ?? throw new InvalidOperationException(
            $"Step {step} is past T - tfinal = {finalStep}, but no final rank pattern exists: run step {finalStep} through UpdateAndAllocate or call MaskUsingRankPattern.");
        MaskUsingRankPattern(final);
        return new RankAllocation(step, TargetBudget, true, final);
    }

    /// <summary>Updates the sensitivity and uncertainty EMAs of every entry of A, E and B from the current gradients.</summary>
    public void UpdateImportance()
    {
        var live = new HashSet<Parameter>(layers.SelectMany(l => l.TrainableParameters()), ReferenceEqualityComparer.Instance);
        foreach (var stale in importance.Keys.Where(p => !live.Contains(p)).ToList())
        {
            importance[stale].Dispose();
            importance.Remove(stale);
        }
        var b1 = Config.Beta1;
        var b2 = Config.Beta2;
        using var _ = no_grad();
        foreach (var p in live)
        {
            using var scope = NewDisposeScope();
            if (!importance.TryGetValue(p, out var state))
            {
                state = new Importance(
                    zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope(),
                    zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope());
                importance.Add(p, state);
            }
            var grad = p.grad;
            var ipt = grad is null ? zeros_like(state.Sensitivity) : (p.detach() * grad).abs().to(ScalarType.Float32);
            state.Sensitivity.mul_(b1).add_(ipt, alpha: 1 - b1);
            state.Uncertainty.mul_(b2).add_((ipt - state.Sensitivity).abs_(), alpha: 1 - b2);
        }
    }

    /// <summary>Drops every importance EMA (PEFT's reset_ipt).</summary>
    public void ResetImportance()
    {
        foreach (var state in importance.Values) state.Dispose();
        importance.Clear();
    }

    /// <summary>Per module (layer order), the score of each triplet: s(E_i) + mean s(A row i) + mean s(B column i).</summary>
    public IReadOnlyList<float[]> TripletScores()
    {
        var result = new List<float[]>(layers.Count);
        foreach (var layer in layers)
        {
            using var scope = NewDisposeScope();
            var e = ElementScore(layer.E).view(-1);
            var a = ElementScore(layer.A).mean(new long[] { 1 });
            var b = ElementScore(layer.B).mean(new long[] { 0 });
            result.Add((e + (a + b)).cpu().data<float>().ToArray());
        }
        return result;
    }

    /// <summary>PEFT's mask_to_budget: zeroes the E entries of the init_bgt - budget lowest-scored triplets; returns the pattern.</summary>
    public IReadOnlyDictionary<string, bool[]> MaskToBudget(int budget)
    {
        var scores = TripletScores();
        var k = InitialBudget - budget;
        var all = scores.SelectMany(s => s).ToArray();
        k = Math.Min(k, all.Length);
        float? threshold = null;
        if (k > 0)
        {
            Array.Sort(all);
            threshold = all[k - 1];
        }
        var pattern = new Dictionary<string, bool[]>(StringComparer.Ordinal);
        for (var i = 0; i < layers.Count; i++)
        {
            var keep = scores[i].Select(s => threshold is not { } t || !(s <= t)).ToArray();
            layers[i].ApplyMask(keep);
            pattern[layers[i].Name] = keep;
        }
        return pattern;
    }

    /// <summary>Re-applies a saved pattern (module name to kept triplets) to every module it names (PEFT's mask_using_rank_pattern).</summary>
    public void MaskUsingRankPattern(IReadOnlyDictionary<string, bool[]> pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        foreach (var layer in layers)
        {
            if (!pattern.TryGetValue(layer.Name, out var keep))
                throw new ArgumentException($"The rank pattern has no entry for module '{layer.Name}'.", nameof(pattern));
            layer.ApplyMask(keep);
        }
        RankPattern = pattern;
    }

    /// <summary>
    /// Copies of the importance EMAs (sensitivity, uncertainty) of every trainable parameter, in layer order and each layer's
    /// TrainableParameters order; null where no EMA exists yet. With <see cref="RankPattern"/> this is the allocator's whole
    /// state, which a checkpoint saves.
    /// </summary>
    public IReadOnlyList<(Tensor Sensitivity, Tensor Uncertainty)?> ExportImportance() =>
        layers.SelectMany(l => l.TrainableParameters())
            .Select(p => importance.TryGetValue(p, out var s)
                ? ((Tensor, Tensor)?)(s.Sensitivity.clone().DetachFromDisposeScope(), s.Uncertainty.clone().DetachFromDisposeScope())
                : null)
            .ToList();

    /// <summary>Restores what <see cref="ExportImportance"/> returned (copied) and the rank pattern saved with it.</summary>
    public void ImportImportance(IReadOnlyList<(Tensor Sensitivity, Tensor Uncertainty)?> states, IReadOnlyDictionary<string, bool[]>? rankPattern)
    {
        ArgumentNullException.ThrowIfNull(states);
        var parameters = layers.SelectMany(l => l.TrainableParameters()).ToList();
        if (states.Count != parameters.Count)
            throw new ArgumentException($"Importance state has {states.Count} entries; the modules have {parameters.Count} parameters.", nameof(states));
        for (var i = 0; i < states.Count; i++)
            if (states[i] is { } st && (!st.Sensitivity.shape.SequenceEqual(parameters[i].shape) || !st.Uncertainty.shape.SequenceEqual(parameters[i].shape)))
                throw new ArgumentException($"Importance entry {i}: shape [{string.Join(", ", st.Sensitivity.shape)}] does not match its parameter [{string.Join(", ", parameters[i].shape)}].", nameof(states));
        ResetImportance();
        for (var i = 0; i < states.Count; i++)
            if (states[i] is { } st)
                importance.Add(parameters[i], new Importance(
                    st.Sensitivity.to(ScalarType.Float32, parameters[i].device, copy: true).DetachFromDisposeScope(),
                    st.Uncertainty.to(ScalarType.Float32, parameters[i].device, copy: true).DetachFromDisposeScope()));
        RankPattern = rankPattern;
    }

    /// <summary>The orthogonal regulariser of all modules times orth_reg_weight (add it to the loss before the backward).</summary>
    public Tensor OrthogonalLoss() => OrthogonalRegularizer.Loss(layers, Config.OrthRegWeight);

    public void Dispose() => ResetImportance();

    Tensor ElementScore(Parameter p)
        => importance.TryGetValue(p, out var s) ? s.Sensitivity * s.Uncertainty : zeros_like(p, dtype: ScalarType.Float32);

    sealed record Importance(Tensor Sensitivity, Tensor Uncertainty) : IDisposable
    {
        public void Dispose()
        {
            Sensitivity.Dispose();
            Uncertainty.Dispose();
        }
    }
}
