using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Optimization;

/// <summary>
/// Adam exactly as PyTorch's torch.optim.Adam (single-tensor path, no amsgrad): per parameter
/// <c>step += 1; g += wd * p; m.lerp_(g, 1 - b1); v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)</c>, with the bias corrections in double precision
/// and float32 moments. State is keyed by parameter reference, so parameters can be replaced when a layer's rank grows.
/// </summary>
/// <remarks>
/// TorchSharp's own Adam updates the first moment as <c>m * b1 + (1 - b1) g</c>; that is PyTorch's older form and can
/// differ from <c>lerp_</c> by one ulp once the moment is non-zero.
/// </remarks>
public sealed class AdamOptimizer : IDisposable
{
    readonly List<Parameter> parameters = [];
    readonly Dictionary<Parameter, Slot> state = new(ReferenceEqualityComparer.Instance);

    public AdamOptimizer(IEnumerable<Parameter> parameters, AdamOptions? options = null)
    {
        Options = options ?? new AdamOptions();
        Options.Validate();
        foreach (var p in parameters) Add(p);
    }

    public AdamOptions Options { get; private set; }

    /// <summary>Learning rate used by the next step (a schedule may change it between steps).</summary>
    public double LearningRate
    {
        get => Options.LearningRate;
        set => Options = (Options with { LearningRate = value }).Validated();
    }

    /// <summary>The parameters in their fixed order (a replaced parameter keeps its predecessor's slot).</summary>
    public IReadOnlyList<Parameter> Parameters => parameters;

    public bool Contains(Parameter parameter) => state.ContainsKey(parameter);

    public void Add(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!state.TryAdd(parameter, new Slot())) throw new ArgumentException("The parameter is already in the optimizer.", nameof(parameter));
        parameters.Add(parameter);
    }

    /// <summary>Removes a parameter and disposes its state.</summary>
    public bool Remove(Parameter parameter)
    {
        if (!state.Remove(parameter, out var slot)) return false;
        parameters.RemoveAt(IndexOf(parameter));
        slot.Dispose();
        return true;
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> in <paramref name="old"/>'s place. With <see cref="RankGrowthPolicy.ResetLayerState"/>
    /// its state starts fresh; with <see cref="RankGrowthPolicy.KeepOldRows"/> the old moments are copied into the leading
    /// block of zero moments of the new shape and the step count is kept.
    /// </summary>
    public void Replace(Parameter old, Parameter replacement, RankGrowthPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(replacement);
        if (!state.TryGetValue(old, out var oldSlot)) throw new ArgumentException("The parameter to replace is not in the optimizer.", nameof(old));
        if (state.ContainsKey(replacement)) throw new ArgumentException("The replacement is already in the optimizer.", nameof(replacement));
        var slot = new Slot();
        if (policy == RankGrowthPolicy.KeepOldRows && oldSlot.ExpAvg is not null)
        {
            if (old.dim() != replacement.dim() || old.shape.Zip(replacement.shape).Any(d => d.First > d.Second))
                throw new ArgumentException("KeepOldRows needs a replacement at least as large as the old parameter in every dimension.");
            slot.Step = oldSlot.Step;
            slot.ExpAvg = Enlarge(oldSlot.ExpAvg, replacement.shape);
            slot.ExpAvgSq = Enlarge(oldSlot.ExpAvgSq!, replacement.shape);
        }
        parameters[IndexOf(old)] = replacement;
        state.Remove(old);
        oldSlot.Dispose();
        state.Add(replacement, slot);
    }

    /// <summary>Sets every parameter's gradient to none (PyTorch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var p in parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            p.grad = null;
            g.Dispose();
        }
    }

    /// <summary>One Adam update of every parameter that has a gradient.</summary>
    public void Step()
    {
        var o = Options;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            // Inside the scope, so the managed wrapper of .grad is released each step.
            using var scope = NewDisposeScope();
            var grad = p.grad;
            if (grad is null) continue;
            var slot = state[p];
            if (slot.ExpAvg is null)
            {
                slot.ExpAvg = zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope();
                slot.ExpAvgSq = zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope();
            }
            slot.Step += 1;
            var g = grad.dtype == ScalarType.Float32 ? grad : grad.to(ScalarType.Float32);
            if (o.WeightDecay != 0) g = g.add(p.to(ScalarType.Float32), alpha: o.WeightDecay);
            slot.ExpAvg.lerp_(g, tensor(1 - o.Beta1, ScalarType.Float32, g.device));
            slot.ExpAvgSq!.mul_(o.Beta2).addcmul_(g, g, value: 1 - o.Beta2);
            var biasCorrection1 = 1 - Math.Pow(o.Beta1, slot.Step);
            var biasCorrection2 = 1 - Math.Pow(o.Beta2, slot.Step);
            var stepSize = o.LearningRate / biasCorrection1;
            var denom = (slot.ExpAvgSq.sqrt() / Math.Sqrt(biasCorrection2)).add_(o.Eps);
            if (p.dtype == ScalarType.Float32)
                p.addcdiv_(slot.ExpAvg, denom, value: -stepSize);
            else
                p.add_(slot.ExpAvg.div(denom).mul_(-stepSize).to(p.dtype));
        }
    }

    /// <summary>The state of one parameter (copies), or null when the parameter is not in the optimizer.</summary>
    public AdamParameterState? StateOf(Parameter parameter)
        => state.TryGetValue(parameter, out var slot) ? slot.Export() : null;

    /// <summary>Every parameter's state, in <see cref="Parameters"/> order (copies; the caller disposes them).</summary>
    public IReadOnlyList<AdamParameterState> ExportState() => parameters.Select(p => state[p].Export()).ToList();

    /// <summary>Loads states exported from an optimizer whose parameters had the same order and shapes.</summary>
    public void ImportState(IReadOnlyList<AdamParameterState> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count != parameters.Count)
            throw new ArgumentException($"Optimizer state has {states.Count} entries but the optimizer has {parameters.Count} parameters.", nameof(states));
        for (var i = 0; i < states.Count; i++)
        {
            var s = states[i];
            var p = parameters[i];
            if ((s.ExpAvg is null) != (s.ExpAvgSq is null))
                throw new ArgumentException($"Optimizer state entry {i}: both moments or neither must be present.", nameof(states));
            if (s.ExpAvg is not null && (!s.ExpAvg.shape.SequenceEqual(p.shape) || !s.ExpAvgSq!.shape.SequenceEqual(p.shape)))
                throw new ArgumentException($"Optimizer state entry {i}: moment shape [{string.Join(", ", s.ExpAvg.shape)}] does not match parameter shape [{string.Join(", ", p.shape)}].", nameof(states));
            if (s.Step < 0) throw new ArgumentException($"Optimizer state entry {i}: negative step {s.Step}.", nameof(states));
        }
        for (var i = 0; i < states.Count; i++)
        {
            var p = parameters[i];
            var slot = state[p];
            slot.Dispose();
            slot.Step = states[i].Step;
            slot.ExpAvg = states[i].ExpAvg?.to(ScalarType.Float32, p.device, copy: true).DetachFromDisposeScope();
            slot.ExpAvgSq = states[i].ExpAvgSq?.to(ScalarType.Float32, p.device, copy: true).DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        foreach (var slot in state.Values) slot.Dispose();
        state.Clear();
        parameters.Clear();
    }

    int IndexOf(Parameter parameter)
    {
        for (var i = 0; i < parameters.Count; i++)
            if (ReferenceEquals(parameters[i], parameter)) return i;
        throw new InvalidOperationException("Optimizer parameter list and state disagree.");
    }

    static Tensor Enlarge(Tensor moment, long[] shape)
    {
        using var scope = NewDisposeScope();
        var enlarged = zeros(shape, dtype: moment.dtype, device: moment.device);
        using (no_grad())
        {
            var view = enlarged;
            for (var d = 0; d < moment.dim(); d++) view = view.narrow(d, 0, moment.shape[d]);
            view.copy_(moment);
        }
        return enlarged.DetachFromDisposeScope();
    }

    sealed class Slot : IDisposable
    {
        public long Step;
        public Tensor? ExpAvg;
        public Tensor? ExpAvgSq;

        public AdamParameterState Export()
            => new(Step, ExpAvg?.clone().DetachFromDisposeScope(), ExpAvgSq?.clone().DetachFromDisposeScope());

        public void Dispose()
        {
            ExpAvg?.Dispose();
            ExpAvgSq?.Dispose();
            ExpAvg = null;
            ExpAvgSq = null;
            Step = 0;
        }
    }
}

static class AdamOptionsExtensions
{
    public static AdamOptions Validated(this AdamOptions options)
    {
        options.Validate();
        return options;
    }
}
