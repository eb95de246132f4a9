using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Diffusion.Models;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Training.Runs;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Training.Steps;

/// <summary>
/// The pure step function of adapter training (no actors): forward, loss and backward of one shard, gradients as flat
/// float32 buffers in the optimizer's fixed parameter order, the optimizer step, and SeLoRA's faithful test re-run.
/// </summary>
/// <remarks>
/// A shard's loss is sum over its samples of (weighted) per-sample epsilon-MSE, divided by the GLOBAL batch size, and every
/// sample's noise and timestep come from <see cref="StepRandomness"/>, so the losses and gradients of W shards add up to
/// those of the whole batch on one worker (up to float summation order).
/// Single process, with SeLoRA (what <see cref="RunStep"/> does):
/// <code>
/// var loss = step.ComputeGradients(batch, s);
/// controller.RecordOriginalScores(s);          // FI_orig, before the optimizer step
/// step.Apply(s);                               // Adam step, AdaLoRA allocation, then zero grads
/// if (controller.IsTestStep(s)) controller.RunTest(s, () => step.ComputeTrialGradients(batch, s));
/// </code>
/// Data parallel: each worker calls <see cref="ComputeGradients"/> on its shard and <see cref="ExportGradients"/>; a reducer
/// sums the buffers with <see cref="GradientBuffer.Sum"/> in worker order; each worker <see cref="ImportGradients"/> the
/// sum, records scores, then <see cref="Apply"/>. On test steps: controller.EnterTrial(), <see cref="ComputeTrialGradients"/>,
/// <see cref="ExportTrialGradients"/>, controller.ExitTrial(); FI_exp comes from the reduced trial buffers.
/// </remarks>
public sealed class TrainStep
{
    readonly ClipTextModel textEncoder;
    readonly Unet2DConditionModel unet;
    readonly DdpmScheduler scheduler;

    public TrainStep(ClipTextModel textEncoder, Unet2DConditionModel unet, DdpmScheduler scheduler, AdamOptimizer optimizer,
        TrainStepOptions options, SeLoraController? controller = null, IStepHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(textEncoder);
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.scheduler = scheduler;
        Optimizer = optimizer;
        Options = options;
        Controller = controller;
        Hooks = hooks;
        if (controller is not null) controller.Optimizer ??= optimizer;
    }

    public TrainStepOptions Options { get; }

    public AdamOptimizer Optimizer { get; }

    public SeLoraController? Controller { get; }

    /// <summary>DyLoRA's or AdaLoRA's additions to the step; null for LoRA and SeLoRA.</summary>
    public IStepHooks? Hooks { get; }

    /// <summary>The trainable parameters in the fixed order of every gradient buffer (the optimizer's order; an expanded
    /// layer's new A and B take the old ones' places, so the buffer length changes after an expansion).</summary>
    public IReadOnlyList<Parameter> Parameters => Optimizer.Parameters;

    /// <summary>Elements of a gradient buffer for the current parameters.</summary>
    public long GradientLength => Parameters.Sum(p => p.numel());

    /// <summary>Forward + backward of a shard at <paramref name="step"/>; gradients accumulate on the parameters. Returns the shard's loss
    /// (its share of the global mean).</summary>
    public double ComputeGradients(StepBatch batch, long step) => ForwardBackward(batch, step);

    /// <summary>
    /// SeLoRA's faithful test pass: the same forward + backward (same batch, noise and timesteps) while the layers are in
    /// trial mode (controller.EnterTrial or inside controller.RunTest), after the optimizer step. Gradients land on the trial matrices.
    /// </summary>
    public double ComputeTrialGradients(StepBatch batch, long step)
    {
        var controller = Controller ?? throw new InvalidOperationException("Trial gradients need a SeLoraController.");
        var notInTrial = controller.Layers.FirstOrDefault(l => !l.InTrial);
        if (notInTrial is not null)
            throw new InvalidOperationException($"Layer '{notInTrial.Name}' is not in a trial pass; call controller.EnterTrial() (or use controller.RunTest).");
        return ForwardBackward(batch, step);
    }

    /// <summary>The U-Net's prediction and its target for a batch at <paramref name="step"/>'s randomness, without gradients.</summary>
    public (Tensor Prediction, Tensor Target) Predict(StepBatch batch, long step)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (prediction, target, _) = Forward(batch, step);
        return (scope.MoveToOuter(prediction), scope.MoveToOuter(target));
    }

    /// <summary>The shard loss (as <see cref="ComputeGradients"/> returns) without a backward.</summary>
    public double EvaluateLoss(StepBatch batch, long step)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (prediction, target, timesteps) = Forward(batch, step);
        return Loss(prediction, target, timesteps).item<float>();
    }

    /// <summary>The current gradients as one float32 buffer in <see cref="Parameters"/> order; a missing gradient reads as zeros.</summary>
    public float[] ExportGradients() => Flatten(Parameters.Select(p => (p.grad, p.numel())).ToList());

    /// <summary>Replaces every parameter's gradient by its slice of <paramref name="buffer"/> (e.g. a reduced sum).</summary>
    public void ImportGradients(float[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var parameters = Parameters;
        var expected = parameters.Sum(p => p.numel());
        if (buffer.LongLength != expected)
            throw new ArgumentException($"Gradient buffer has {buffer.LongLength} elements; the {parameters.Count} parameters need {expected}.", nameof(buffer));
        long offset = 0;
        foreach (var p in parameters)
        {
            var n = p.numel();
            var slice = new float[n];
            Array.Copy(buffer, offset, slice, 0, n);
            offset += n;
            // The parameter holds the native gradient; the scope only releases the managed handles.
            using var scope = NewDisposeScope();
            var old = p.grad;
            p.grad = tensor(slice, p.shape, ScalarType.Float32).to(p.dtype, p.device);
            old?.Dispose();
        }
    }

    /// <summary>The trial matrices' gradients (per layer in controller order: trial A, then trial B) as one buffer.</summary>
    public float[] ExportTrialGradients()
    {
        var controller = Controller ?? throw new InvalidOperationException("Trial gradients need a SeLoraController.");
        var parts = new List<(Tensor?, long)>();
        foreach (var layer in controller.Layers)
        {
            var (gradA, gradB) = layer.TrialGradients();
            parts.Add((gradA, (layer.Rank + 1) * layer.InFeatures));
            parts.Add((gradB, layer.OutFeatures * (layer.Rank + 1)));
        }
        return Flatten(parts);
    }

    /// <summary>
    /// FI-Score per layer (controller order) from a trial buffer laid out as <see cref="ExportTrialGradients"/> writes it,
    /// typically the sum over workers; with FI_orig (controller.OriginalScores() after <see cref="ImportGradients"/>) it feeds
    /// controller.Decide.
    /// </summary>
    public double[] TrialScoresFrom(float[] trialBuffer)
    {
        var controller = Controller ?? throw new InvalidOperationException("Trial scores need a SeLoraController.");
        return TrialScores.FromBuffer(trialBuffer, controller.LayerStates());
    }

    /// <summary>Call before the first forward of <paramref name="step"/> (DyLoRA draws its rank, SeLoRA's fast test arms its probes).</summary>
    public void BeginStep(long step)
    {
        Hooks?.BeginStep(step);
        Controller?.BeginStep(step);
    }

    /// <summary>The optimizer step, the hooks' allocation (AdaLoRA), then every gradient set to none.</summary>
    public IReadOnlyList<RankChange> Apply(long step)
    {
        Optimizer.Step();
        var changes = Hooks?.AfterOptimizerStep(step) ?? [];
        Optimizer.ZeroGrad();
        return changes;
    }

    /// <summary>
    /// One whole single-process step: gradients, FI_orig on test steps, the optimizer step, and on test steps the faithful
    /// SeLoRA test (which may expand layers). <paramref name="step"/> counts from 1 and also keys the randomness.
    /// </summary>
    public StepResult RunStep(StepBatch batch, long step) => RunStep([batch], step);

    /// <summary>
    /// One step over sequential micro-batches (gradient accumulation: the micro-batches together are the global batch, so
    /// the result equals one pass over all of them up to float summation order); the SeLoRA test re-runs every micro-batch.
    /// </summary>
    public StepResult RunStep(IReadOnlyList<StepBatch> microBatches, long step)
    {
        ArgumentNullException.ThrowIfNull(microBatches);
        if (microBatches.Count == 0) throw new ArgumentException("A step needs at least one micro-batch.", nameof(microBatches));
        BeginStep(step);
        double loss = 0;
        foreach (var batch in microBatches) loss += ComputeGradients(batch, step);
        Controller?.RecordOriginalScores(step);
        var changes = Apply(step).ToList();
        ExpansionTestResult? test = null;
        if (Controller is { } controller && controller.IsTestStep(step))
        {
            test = controller.RunTest(step, () =>
            {
                foreach (var batch in microBatches) ComputeTrialGradients(batch, step);
            });
            changes.AddRange(test.Decisions.Where(d => d.Expand).Select(d => new RankChange(step, d.Name, d.RankBefore, d.RankBefore + 1)));
        }
        return new StepResult(step, loss, test, changes);
    }

    double ForwardBackward(StepBatch batch, long step)
    {
        using var scope = NewDisposeScope();
        var (prediction, target, timesteps) = Forward(batch, step);
        var loss = Loss(prediction, target, timesteps);
        if (Hooks?.Regularizer() is { } regularizer)
            loss = loss + regularizer.mul((double)batch.Count / Options.GlobalBatchSize);
        loss.backward();
        return loss.item<float>();
    }

    (Tensor Prediction, Tensor Target, Tensor Timesteps) Forward(StepBatch batch, long step)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate();
        var latents = batch.Latents;
        var (noise, timesteps) = StepRandomness.ForSamples(Options.Seed, step, batch.SampleIndices, latents.shape[1..],
            scheduler.NumTrainTimesteps, latents.device, latents.dtype);
        if (Options.NoiseOffset > 0)
            noise = noise + StepRandomness.NoiseOffsets(Options.Seed, step, batch.SampleIndices, latents.shape[1], latents.device, latents.dtype)
                .mul(Options.NoiseOffset);
        var context = textEncoder.forward(batch.InputIds);
        var noisy = scheduler.AddNoise(latents, noise, timesteps);
        var prediction = unet.forward(noisy, timesteps, context);
        var target = scheduler.GetTarget(latents, noise, timesteps);
        return (prediction, target, timesteps);
    }

    /// <summary>Sum over the shard of per-sample MSE (times the Min-SNR weight when on), divided by the global batch size.</summary>
    Tensor Loss(Tensor prediction, Tensor target, Tensor timesteps)
    {
        var perSample = (prediction.to(ScalarType.Float32) - target.to(ScalarType.Float32)).pow(2).mean(new long[] { 1, 2, 3 });
        if (Options.MinSnrGamma is { } gamma)
        {
            var snr = scheduler.Snr(timesteps).to(perSample.device);
            var weight = snr.clamp_max(gamma);
            // diffusers' train_text_to_image: min(snr, gamma) / snr for epsilon, / (snr + 1) for v-prediction.
            weight = scheduler.Config.PredictionType == PredictionType.VPrediction ? weight / (snr + 1) : weight / snr;
            perSample = perSample * weight;
        }
        return perSample.sum() / Options.GlobalBatchSize;
    }

    static float[] Flatten(IReadOnlyList<(Tensor? Grad, long Count)> parts)
    {
        var buffer = new float[parts.Sum(p => p.Count)];
        long offset = 0;
        foreach (var (grad, count) in parts)
        {
            if (grad is not null)
            {
                if (grad.numel() != count) throw new InvalidOperationException($"A gradient has {grad.numel()} elements, its parameter {count}.");
                using var scope = NewDisposeScope();
                var values = grad.detach().to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();
                Array.Copy(values, 0, buffer, offset, count);
            }
            offset += count;
        }
        return buffer;
    }
}
