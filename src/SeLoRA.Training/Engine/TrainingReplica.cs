using System.Security.Cryptography;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Data.Sampling;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Torch.Randomness;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Methods;
using SeLoRA.Training.Runs;
using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Engine;

/// <summary>
/// One model replica with its adapters, optimizer and step function: what a single-process run trains, and what each
/// device worker of the cluster holds. A step is either whole (<see cref="RunStep"/>) or in the data-parallel building
/// blocks (<see cref="ComputeShard"/>, <see cref="ApplyReduced"/>, <see cref="ComputeTrialShard"/>, <see cref="ApplyDecisions"/>),
/// which give the same result for W shards as one replica on the global batch. Not thread-safe: TorchSharp's dispose
/// scopes are per thread, so one thread drives a replica.
/// </summary>
public sealed class TrainingReplica : IDisposable
{
    readonly TrainingConfig config;
    readonly Device device;
    readonly BatchAssembler assembler;
    readonly Validator validator;
    readonly IReadOnlyList<int> usable;
    readonly long totalSteps;
    IReadOnlyList<StepBatch>? current;
    long currentStep = -1;

    TrainingReplica(TrainingConfig config, TrainingData data, Device device, long totalSteps, StableDiffusionModels models,
        AdapterSet adapters, AdamOptimizer optimizer, TrainStep step)
    {
        this.config = config;
        this.device = device;
        this.totalSteps = totalSteps;
        Models = models;
        Adapters = adapters;
        Optimizer = optimizer;
        Step = step;
        usable = data.UsableTrainIndices;
        assembler = new BatchAssembler(data.TrainLatents, data.TrainPrompts, data.EmptyPrompt, config.UnsignedSeed, config.Data.PromptDropout);
        validator = new Validator(data, config.Seed, config.Optimization.BatchSize, config.Validation.MaxSamples);
    }

    public StableDiffusionModels Models { get; }

    public AdapterSet Adapters { get; }

    public AdamOptimizer Optimizer { get; }

    public TrainStep Step { get; }

    public SeLoraController? Controller => Step.Controller;

    public int ValidationCount => validator.Count;

    /// <summary>
    /// Loads the base model onto <paramref name="device"/>, injects the method's adapters (seeded, so every replica starts
    /// identical) and, from a checkpoint, restores adapters, optimizer and allocator state.
    /// </summary>
    public static TrainingReplica Create(TrainingConfig config, TrainingData data, Device device, long totalSteps, string? checkpointDirectory = null,
        StableDiffusionModels? models = null)
    {
        models ??= StableDiffusionModels.Load(config.BaseModel);
        models.To(device);
        var adapters = AdapterSet.Inject(config, models, totalSteps);
        if (checkpointDirectory is not null) CheckpointContents.LoadAdapters(checkpointDirectory, adapters);
        var optimizer = new AdamOptimizer(adapters.MarkTrainable(), config.Optimization.Adam);
        if (checkpointDirectory is not null)
        {
            CheckpointContents.LoadOptimizer(checkpointDirectory, optimizer);
            CheckpointContents.LoadAllocator(checkpointDirectory, adapters);
        }
        var controller = adapters.CreateController(optimizer);
        var scheduler = new DdpmScheduler(SchedulerConfig.FromJsonText(models.SchedulerConfig.ToJsonString()));
        var step = new TrainStep(models.TextEncoder, models.Unet, scheduler, optimizer, new TrainStepOptions
        {
            Seed = config.UnsignedSeed,
            GlobalBatchSize = config.Optimization.BatchSize,
            MinSnrGamma = config.Optimization.MinSnrGamma > 0 ? config.Optimization.MinSnrGamma : null,
            NoiseOffset = config.Optimization.NoiseOffset,
        }, controller, adapters);
        models.Vae.eval();
        adapters.Train(true);
        return new TrainingReplica(config, data, device, totalSteps, models, adapters, optimizer, step);
    }

    /// <summary>The dataset indices (keys of every per-sample draw) of sampler positions.</summary>
    public IReadOnlyList<int> DatasetIndices(IReadOnlyList<int> samplerIndices) => samplerIndices.Select(i => usable[i]).ToList();

    /// <summary>A whole step on this replica alone: the global batch in the configured micro-batches.</summary>
    public StepResult RunStep(IReadOnlyList<int> datasetIndices, long step)
    {
        Prepare(step);
        using var scope = NewDisposeScope();
        return Step.RunStep(MicroBatches(datasetIndices, step), step);
    }

    /// <summary>
    /// Data parallel, part 1: forward and backward of this replica's shard (dataset indices) of <paramref name="step"/>;
    /// returns its loss share and its gradients as a flat buffer (optimizer order). The shard's batches are kept for a
    /// trial pass until <see cref="ApplyReduced"/> or <see cref="ApplyDecisions"/> ends the step. An empty shard gives zeros.
    /// </summary>
    public (double Loss, float[] Gradients) ComputeShard(IReadOnlyList<int> datasetIndices, long step)
    {
        EndStep();
        Optimizer.ZeroGrad(); // an abandoned attempt (a lost worker) may have left gradients
        Prepare(step);
        Step.BeginStep(step);
        currentStep = step;
        double loss = 0;
        try
        {
            // The batches outlive this call (a trial pass re-runs them), so they leave the scope and EndStep disposes them.
            using (var scope = NewDisposeScope())
            {
                current = datasetIndices.Count == 0 ? [] : MicroBatches(datasetIndices, step);
                foreach (var batch in current)
                {
                    batch.Latents.DetachFromDisposeScope();
                    batch.InputIds.DetachFromDisposeScope();
                }
            }
            foreach (var batch in current) loss += Step.ComputeGradients(batch, step);
        }
        catch
        {
            EndStep();
            throw;
        }
        return (loss, Step.ExportGradients());
    }

    /// <summary>
    /// Part 2: replaces the gradients by the reduced sum, records SeLoRA's FI_orig on a test step (returned, in controller
    /// order), and takes the optimizer step (with AdaLoRA's allocation).
    /// </summary>
    public (double[]? OriginalScores, IReadOnlyList<RankChange> Changes) ApplyReduced(float[] reducedGradients, long step)
    {
        RequireStep(step);
        Step.ImportGradients(reducedGradients);
        var testing = Controller is { } c && c.IsTestStep(step);
        var original = testing ? Controller!.OriginalScores() : null;
        var changes = Step.Apply(step);
        if (!testing) EndStep();
        return (original, changes);
    }

    /// <summary>
    /// Part 3, on SeLoRA test steps: the trial pass over the kept shard, or over <paramref name="datasetIndices"/> when given
    /// (a lost worker's shard: its batch is rebuilt from the same keyed draws); the trial gradients as a flat buffer.
    /// </summary>
    public float[] ComputeTrialShard(long step, IReadOnlyList<int>? datasetIndices = null)
    {
        RequireStep(step);
        var controller = Controller ?? throw new InvalidOperationException("Trial passes need SeLoRA.");
        using var scope = NewDisposeScope();
        var batches = datasetIndices is null ? current! : datasetIndices.Count == 0 ? [] : MicroBatches(datasetIndices, step);
        controller.EnterTrial();
        try
        {
            foreach (var batch in batches) Step.ComputeTrialGradients(batch, step);
            return Step.ExportTrialGradients();
        }
        finally
        {
            controller.ExitTrial();
        }
    }

    /// <summary>FI_exp per layer from a reduced trial buffer (what the coordinator computes).</summary>
    public double[] TrialScores(float[] reducedTrial) => Step.TrialScoresFrom(reducedTrial);

    /// <summary>SeLoRA's decisions from FI_orig and FI_exp (pure; the coordinator makes them once for all replicas).</summary>
    public IReadOnlyList<ExpansionDecision> Decide(double[] original, double[] trial) =>
        (Controller ?? throw new InvalidOperationException("Decisions need SeLoRA.")).Decide(original, trial);

    /// <summary>Part 4: applies the decisions (seeded growth, identical on every replica) and ends the step.</summary>
    public IReadOnlyList<RankChange> ApplyDecisions(IReadOnlyList<ExpansionDecision> decisions, long step)
    {
        EndStep();
        var controller = Controller ?? throw new InvalidOperationException("Decisions need SeLoRA.");
        controller.Apply(decisions);
        return decisions.Where(d => d.Expand).Select(d => new RankChange(step, d.Name, d.RankBefore, d.RankBefore + 1)).ToList();
    }

    public double Validate() => validator.Evaluate(Step, Adapters, device);

    public void WriteCheckpoint(string directory) => CheckpointContents.Write(directory, Adapters, Optimizer);

    /// <summary>SHA-256 over every adapter tensor and every optimizer moment and step count, in their fixed orders.</summary>
    public string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in FingerprintDetails()) hash.AppendData(System.Text.Encoding.UTF8.GetBytes(entry));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>"name=sha256" per tensor (adapter weights, then each parameter's Adam state), to name the first that differs.</summary>
    public IReadOnlyList<string> FingerprintDetails()
    {
        var names = Adapters.Models.TextEncoder.named_parameters().Concat(Adapters.Models.Unet.named_parameters())
            .ToDictionary(p => (object)p.parameter, p => p.name, ReferenceEqualityComparer.Instance);
        var entries = new List<string>();
        var states = Optimizer.ExportState();
        try
        {
            for (var i = 0; i < Optimizer.Parameters.Count; i++)
            {
                var p = Optimizer.Parameters[i];
                var name = names.TryGetValue(p, out var n) ? n : $"parameter {i}";
                entries.Add($"{name}={Hash(p.detach())}");
                var s = states[i];
                entries.Add($"{name}.adam={s.Step}:{(s.ExpAvg is null ? "-" : Hash(s.ExpAvg))}:{(s.ExpAvgSq is null ? "-" : Hash(s.ExpAvgSq))}");
            }
        }
        finally
        {
            foreach (var s in states) s.Dispose();
        }
        return entries;
    }

    static string Hash(Tensor t)
    {
        using var scope = NewDisposeScope();
        return Convert.ToHexStringLower(SHA256.HashData(t.cpu().contiguous().bytes))[..16];
    }

    /// <summary>Learning rate and the adapter-dropout generator of a step, keyed by (seed, step) so a resume continues them.</summary>
    void Prepare(long step)
    {
        Optimizer.LearningRate = LrSchedule.At(config.Optimization, step, totalSteps);
        manual_seed(unchecked((long)SplitMix64.Derive(config.Seed, step, (long)StepRandomPurpose.AdapterDropout)));
    }

    /// <summary>The samples split into the configured number of sequential micro-batches, on the replica's device.</summary>
    IReadOnlyList<StepBatch> MicroBatches(IReadOnlyList<int> indices, long step)
    {
        var parts = Math.Min(config.Optimization.GradientAccumulation, indices.Count);
        var result = new List<StepBatch>(parts);
        for (var p = 0; p < parts; p++)
        {
            var (offset, count) = ShardedBatchSampler.SliceOf(indices.Count, parts, p);
            if (count == 0) continue;
            var batch = assembler.Assemble(indices.Skip(offset).Take(count).ToList(), step);
            result.Add(device.type == TorchSharp.DeviceType.CPU ? batch : batch with { Latents = batch.Latents.to(device), InputIds = batch.InputIds.to(device) });
        }
        return result;
    }

    void RequireStep(long step)
    {
        if (currentStep != step) throw new InvalidOperationException($"Step {step} has no computed shard on this replica (current: {currentStep}).");
    }

    void EndStep()
    {
        foreach (var batch in current ?? [])
        {
            batch.Latents.Dispose();
            batch.InputIds.Dispose();
        }
        current = null;
        currentStep = -1;
    }

    public void Dispose()
    {
        EndStep();
        Optimizer.Dispose();
        Adapters.Dispose();
        Models.Dispose();
    }
}
