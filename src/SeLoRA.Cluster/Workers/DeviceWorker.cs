using Akka.Actor;
using Akka.Event;
using SeLoRA.Torch.Devices;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Workers;

/// <summary>
/// One device's model replica. It runs on its own thread (a pinned dispatcher): TorchSharp's dispose scopes are
/// thread-bound and a step blocks the device anyway, so each message is handled to completion before the next. Every
/// step phase calls <see cref="TrainingReplica"/>, the same step logic a single-process run uses.
/// </summary>
public sealed class DeviceWorker : ReceiveActor
{
    /// <summary>The dispatcher every device worker runs on: one dedicated thread per actor.</summary>
    public const string Dispatcher = "selora-device-worker-dispatcher";

    readonly string device;
    readonly SeLoRA.Training.Checkpoints.ICheckpointMirror? mirror;
    readonly ILoggingAdapter log = Context.GetLogger();
    TrainingReplica? replica;

    /// <param name="mirror">Where to fetch a checkpoint this machine does not have (the cluster's database).</param>
    readonly WorkerStatusBoard? board;
    string? runName;

    public DeviceWorker(string device, SeLoRA.Training.Checkpoints.ICheckpointMirror? mirror = null, WorkerStatusBoard? board = null)
    {
        this.device = device;
        this.mirror = mirror;
        this.board = board;
        Receive<PrepareReplica>(m => Reply(() => Prepare(m)));
        Receive<ComputeShard>(m => Reply(() =>
        {
            var (loss, gradients) = Replica.ComputeShard(m.DatasetIndices, m.Step);
            return new ShardComputed(m.Step, loss, SendBack(gradients, m.ReplyTransfer));
        }));
        Receive<ApplyReduced>(m => Reply(() =>
        {
            var reduced = m.Transfer is { } id ? Transport.ReceiveAsync(id, TransferTimeout).GetAwaiter().GetResult() : m.Reduced;
            var (original, changes) = Replica.ApplyReduced(reduced, m.Step);
            return new ReducedApplied(m.Step, original, original is null ? null : Replica.Controller!.LayerStates().ToArray(), changes.ToArray());
        }));
        Receive<RunWholeStep>(m => Reply(() =>
        {
            var r = Replica.RunStep(m.DatasetIndices, m.Step);
            return new WholeStepRan(m.Step, r.Loss, r.Test?.Decisions.ToArray(), r.Changes.ToArray());
        }));
        Receive<ComputeTrial>(m => Reply(() => new TrialComputed(m.Step, SendBack(Replica.ComputeTrialShard(m.Step, m.DatasetIndices), m.ReplyTransfer))));
        Receive<ApplyDecisions>(m => Reply(() => new DecisionsApplied(m.Step, Replica.ApplyDecisions(m.Decisions, m.Step).ToArray())));
        Receive<GetFingerprint>(_ => Reply(() => new FingerprintReported(Name, Replica.Fingerprint())));
        Receive<GetFingerprintDetails>(_ => Reply(() => new FingerprintDetailsReported(Replica.FingerprintDetails().ToArray())));
        Receive<ValidateReplica>(_ => Reply(() => new ReplicaValidated(Replica.Validate())));
        Receive<WriteCheckpointFiles>(m => Reply(() =>
        {
            Replica.WriteCheckpoint(m.Directory);
            return new CheckpointFilesWritten(m.Directory);
        }));
        Receive<GetLayers>(_ => Reply(() => new LayersReported(
            Replica.Adapters.Layers.Select(SeLoRA.Adapters.Reporting.AdaptedLayerInfo.FromAdapter).ToArray(),
            new Dictionary<string, int>(Replica.Adapters.Ranks()))));
        Receive<ReleaseReplica>(_ => Reply(() =>
        {
            replica?.Dispose();
            replica = null;
            board?.Set(new WorkerStatus(Name, device, null, 0, "idle"));
            return new ReplicaReleased(Name);
        }));
    }

    public static Props Props(string device, SeLoRA.Training.Checkpoints.ICheckpointMirror? mirror = null, WorkerStatusBoard? board = null) =>
        Akka.Actor.Props.Create(() => new DeviceWorker(device, mirror, board)).WithDispatcher(Dispatcher);

    protected override void PreStart() => board?.Set(new WorkerStatus(Name, device, null, 0, "idle"));

    protected override bool AroundReceive(Receive receive, object message)
    {
        var (phase, step) = message switch
        {
            ComputeShard m => ("computing gradients", m.Step),
            RunWholeStep m => ("training", m.Step),
            ApplyReduced m => ("applying gradients", m.Step),
            ComputeTrial m => ("trial pass", m.Step),
            ApplyDecisions m => ("expanding", m.Step),
            PrepareReplica => ("loading", 0L),
            _ => ((string?)null, 0L),
        };
        if (phase is not null) board?.Set(new WorkerStatus(Name, device, runName, step, phase));
        return base.AroundReceive(receive, message);
    }

    string Name => Self.Path.ToStringWithAddress(((ExtendedActorSystem)Context.System).Provider.DefaultAddress);

    static readonly TimeSpan TransferTimeout = TimeSpan.FromMinutes(2);

    SeLoRA.Cluster.Transport.TensorTransport Transport => SeLoRA.Cluster.Transport.TensorTransport.Get(Context.System);

    /// <summary>Sends a buffer back through the tensor channel when asked to (a requester on another node); returns what the reply carries.</summary>
    float[] SendBack(float[] data, Guid? transfer)
    {
        if (transfer is not { } id) return data;
        // The pinned thread waits for the receiver's verdict, so the reply never overtakes the bytes.
        Transport.SendAsync(Sender.Path.Address, id, data).GetAwaiter().GetResult();
        return [];
    }

    TrainingReplica Replica => replica ?? throw new InvalidOperationException($"{Name} holds no replica: send PrepareReplica first.");

    object Prepare(PrepareReplica m)
    {
        replica?.Dispose();
        replica = null;
        var config = TrainingConfig.FromJson(m.ConfigJson, $"run {m.RunName}");
        if (m.CheckpointDirectory is { } wanted && !Directory.Exists(wanted) && mirror is not null)
        {
            // Another machine wrote this checkpoint: fetch it from the mirror into the same path here.
            var name = Path.GetFileName(wanted.TrimEnd('/'));
            var reference = name == SeLoRA.Training.Checkpoints.CheckpointStore.BestName ? name : name.Replace("step-", "").TrimStart('0');
            if (!mirror.TryRestore(m.RunName, RunLayout.OfCheckpoint(wanted).Directory, reference.Length == 0 ? "0" : reference))
                throw new DirectoryNotFoundException($"{wanted}: the checkpoint is neither on this machine nor in the checkpoint mirror.");
        }
        var target = DevicePicker.Pick(device, "worker device");
        var models = SeLoRA.Diffusion.Pipelines.StableDiffusionModels.Load(config.BaseModel);
        try
        {
            models.To(target);
            var data = TrainingData.Prepare(config, models, new RunLayout(m.RunDirectory), m.LatentCacheRoot, line => log.Debug("{0}", line));
            replica = TrainingReplica.Create(config, data, target, m.TotalSteps, m.CheckpointDirectory, models);
        }
        catch
        {
            models.Dispose();
            throw;
        }
        runName = m.RunName;
        board?.Set(new WorkerStatus(Name, device, runName, 0, "ready"));
        log.Info("replica of run {0} ready on {1}", m.RunName, target);
        return new ReplicaPrepared(Name, replica.Fingerprint());
    }

    void Reply(Func<object> work)
    {
        object answer;
        try
        {
            answer = work();
        }
        catch (Exception e)
        {
            log.Error(e, "{0} failed", Name);
            answer = new WorkerFailed(Name, e.Message);
        }
        Sender.Tell(answer);
    }

    protected override void PostStop()
    {
        replica?.Dispose();
        replica = null;
    }
}
