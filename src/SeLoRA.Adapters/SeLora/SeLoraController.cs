using SeLoRA.Adapters.Optimization;

namespace SeLoRA.Adapters.SeLora;

/// <summary>
/// Runs SeLoRA's expansion test every T steps over all SeLoRA layers at once (selora-method.md section 1, "when").
/// </summary>
/// <remarks>
/// One training step with the controller (steps are counted from 1, the test follows steps T, 2T, ...):
/// <code>
/// controller.BeginStep(step);                 // fast mode only: switches the probes on for a test step
/// var loss = Forward(batch); loss.backward();
/// controller.RecordOriginalScores(step);      // FI_orig from these gradients, before the optimizer step
/// optimizer.Step();
/// if (controller.IsTestStep(step))
///     controller.RunTest(step, () => Forward(batch).backward());  // same batch, noise and timesteps; no optimizer step
/// optimizer.ZeroGrad();
/// </code>
/// For a distributed step the building blocks are public: <see cref="OriginalScores"/>, <see cref="EnterTrial"/>,
/// <see cref="TrialScores"/> (or scores from reduced gradients via <see cref="FisherScore"/>), <see cref="ExitTrial"/>,
/// <see cref="Decide"/> (pure) and <see cref="Apply"/>, which every replica calls with the same decisions.
/// </remarks>
public sealed class SeLoraController
{
    readonly List<SeLoraLinear> layers;
    double[]? originalScores;
    double[]? probeScores;
    long recordedStep = -1;

    public SeLoraController(IEnumerable<SeLoraLinear> layers, SeLoraConfig config, AdamOptimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.layers = layers.OrderBy(l => l.LayerIndex).ToList();
        var duplicate = this.layers.GroupBy(l => l.LayerIndex).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Layer index {duplicate.Key} is used by {string.Join(", ", duplicate.Select(l => l.Name))}; indices seed the draws and must be unique.", nameof(layers));
        Config = config;
        Optimizer = optimizer;
    }

    public SeLoraConfig Config { get; }

    /// <summary>The layers, ordered by layer index (the order of every score array).</summary>
    public IReadOnlyList<SeLoraLinear> Layers => layers;

    /// <summary>The optimizer whose state follows rank growth (per <see cref="SeLoraConfig.OptimizerPolicy"/>); may be null.</summary>
    public AdamOptimizer? Optimizer { get; set; }

    public bool IsTestStep(long step) => step > 0 && step % Config.TestInterval == 0;

    /// <summary>Call before the forward of <paramref name="step"/>. In fast mode on a test step it switches the probes on.</summary>
    public void BeginStep(long step)
    {
        if (Config.FastTest && IsTestStep(step))
            foreach (var layer in layers) layer.BeginProbe();
    }

    /// <summary>
    /// Call after the normal backward and before the optimizer step. On a test step it records FI_orig per layer (and, in
    /// fast mode, ||dL/db_new||^2 from the probes, which it then switches off). Does nothing on other steps.
    /// </summary>
    public void RecordOriginalScores(long step)
    {
        if (!IsTestStep(step)) return;
        originalScores = OriginalScores();
        if (Config.FastTest)
        {
            if (layers.Any(l => !l.ProbeActive))
                throw new InvalidOperationException($"Fast test at step {step}: call BeginStep({step}) before the forward so the probes see it.");
            probeScores = layers.Select(l => l.ProbeScore()).ToArray();
            foreach (var layer in layers) layer.EndProbe();
        }
        recordedStep = step;
    }

    /// <summary>
    /// Call after the optimizer step of a test step. Faithful mode: switches every layer to its trial matrices, runs
    /// <paramref name="rerunForwardBackward"/> (forward + backward on the same batch, noise and timesteps), reads FI_exp,
    /// switches back. Fast mode: FI_exp = FI_orig + ||dL/db_new||^2 (the closure is not called). Then decides and expands.
    /// </summary>
    public ExpansionTestResult RunTest(long step, Action? rerunForwardBackward)
    {
        if (!IsTestStep(step)) throw new InvalidOperationException($"Step {step} is not a test step (every {Config.TestInterval}).");
        if (recordedStep != step || originalScores is null)
            throw new InvalidOperationException($"RecordOriginalScores({step}) must run after the backward and before the optimizer step.");
        double[] trialScores;
        if (Config.FastTest)
        {
            trialScores = originalScores.Zip(probeScores!, (o, p) => o + p).ToArray();
        }
        else
        {
            ArgumentNullException.ThrowIfNull(rerunForwardBackward);
            EnterTrial();
            try
            {
                rerunForwardBackward();
                trialScores = TrialScores();
            }
            finally
            {
                ExitTrial();
            }
        }
        var decisions = Decide(originalScores, trialScores);
        Apply(decisions);
        originalScores = null;
        probeScores = null;
        recordedStep = -1;
        return new ExpansionTestResult(step, decisions);
    }

    /// <summary>FI-Score of every layer's current A and B from their .grad.</summary>
    public double[] OriginalScores() => layers.Select(l => l.OriginalScore()).ToArray();

    public void EnterTrial()
    {
        try
        {
            foreach (var layer in layers) layer.BeginTrial();
        }
        catch
        {
            ExitTrial();
            throw;
        }
    }

    /// <summary>FI-Score of every layer's trial matrices from the trial backward's gradients.</summary>
    public double[] TrialScores() => layers.Select(l => l.TrialScore()).ToArray();

    public void ExitTrial()
    {
        foreach (var layer in layers) layer.EndTrial();
    }

    /// <summary>Per layer: expand iff FI_exp / FI_orig >= lambda (0/0 and non-finite never), and not at the maximum rank.</summary>
    public IReadOnlyList<ExpansionDecision> Decide(IReadOnlyList<double> original, IReadOnlyList<double> trial) =>
        Decide(LayerStates(), original, trial, Config);

    /// <summary>Name, index, rank and shape of every layer (controller order): what a coordinator without the model decides on.</summary>
    public IReadOnlyList<SeLoraLayerState> LayerStates() =>
        layers.Select(l => new SeLoraLayerState(l.LayerIndex, l.Name, l.Rank, l.InFeatures, l.OutFeatures)).ToList();

    /// <summary>The decision rule as a pure function of the layers' states and the two score lists (controller order).</summary>
    public static IReadOnlyList<ExpansionDecision> Decide(IReadOnlyList<SeLoraLayerState> layers, IReadOnlyList<double> original,
        IReadOnlyList<double> trial, SeLoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(trial);
        if (original.Count != layers.Count || trial.Count != layers.Count)
            throw new ArgumentException($"Expected {layers.Count} scores per list, got {original.Count} and {trial.Count}.");
        var decisions = new ExpansionDecision[layers.Count];
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var ratio = FisherScore.Ratio(trial[i], original[i]);
            string? reason = null;
            if (double.IsNaN(ratio))
                reason = original[i] == 0 && trial[i] == 0 ? "no gradient (0/0)" : "non-finite score";
            else if (ratio < config.Lambda)
                reason = "ratio below lambda";
            else if (config.MaxRank is { } max && layer.Rank >= max)
                reason = "at maximum rank";
            decisions[i] = new ExpansionDecision(layer.LayerIndex, layer.Name, layer.Rank, original[i], trial[i], ratio, reason is null, reason);
        }
        return decisions;
    }

    /// <summary>
    /// Expands the layers the decisions select (+1 each), moves the optimizer onto the new A and B per the configured
    /// policy, and disposes the old A and B.
    /// </summary>
    public IReadOnlyList<RankExpansion> Apply(IReadOnlyList<ExpansionDecision> decisions)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        var byIndex = layers.ToDictionary(l => l.LayerIndex);
        var expansions = new List<RankExpansion>();
        foreach (var decision in decisions.Where(d => d.Expand))
        {
            if (!byIndex.TryGetValue(decision.LayerIndex, out var layer))
                throw new ArgumentException($"Decision for unknown layer index {decision.LayerIndex} ('{decision.Name}').", nameof(decisions));
            if (layer.Rank != decision.RankBefore)
                throw new InvalidOperationException($"Layer '{layer.Name}' has rank {layer.Rank}, but the decision was made at rank {decision.RankBefore}.");
            var expansion = layer.Expand();
            if (Optimizer is { } optimizer)
            {
                ReplaceInOptimizer(optimizer, expansion.OldA, expansion.NewA);
                ReplaceInOptimizer(optimizer, expansion.OldB, expansion.NewB);
            }
            expansion.OldA.Dispose();
            expansion.OldB.Dispose();
            expansions.Add(expansion);
        }
        return expansions;
    }

    void ReplaceInOptimizer(AdamOptimizer optimizer, TorchSharp.Modules.Parameter old, TorchSharp.Modules.Parameter replacement)
    {
        if (optimizer.Contains(old))
            optimizer.Replace(old, replacement, Config.OptimizerPolicy);
        else
            optimizer.Add(replacement);
    }
}
