using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Cluster.Evaluators;
using SeLoRA.Cluster.Workers;
using SeLoRA.Torch.Devices;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Coordination;

/// <summary>
/// `selora train` on one machine: an actor system in this process with the coordinator and the configured number of
/// device workers (one per GPU when there are enough, else CPU workers), running the run through them.
/// </summary>
public static class LocalTraining
{
    /// <param name="settings">When given, runs are recorded in the configured database (SQLite by default).</param>
    /// <param name="evaluation">When given, an evaluator in this process evaluates the run's checkpoints (selora.eval),
    /// and the call returns once the final test evaluation is done.</param>
    public static RunResult Run(Config hocon, TrainingConfig config, RunOptions options, Action<TrainingEvent>? observe = null,
        CancellationToken cancellation = default, CoordinatorOptions? coordinatorOptions = null, SeLoRA.Cluster.Hosting.SeloraSettings? settings = null,
        EvaluationSettings? evaluation = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        observe ??= _ => { };
        coordinatorOptions ??= CoordinatorOptions.Default with { Persist = settings is not null };
        if (evaluation is not null) coordinatorOptions = coordinatorOptions with { Evaluation = evaluation };
        if (settings is not null)
        {
            hocon = SeLoRA.Cluster.Persistence.PersistenceHocon.For(settings).WithFallback(hocon);
            coordinatorOptions = coordinatorOptions with
            {
                EntityOptions = SeLoRA.Cluster.Runs.RunEntityOptions.FromConfig(hocon),
                Mirror = coordinatorOptions.Mirror ?? SeLoRA.Cluster.Persistence.CheckpointBlobStores.MirrorFromConfig(hocon, settings),
            };
        }
        using var system = ActorSystem.Create("selora-local", hocon);
        try
        {
            var coordinator = system.ActorOf(TrainingCoordinator.Props(coordinatorOptions), "coordinator");
            var devices = Devices(config.Runtime.Device, config.Runtime.Workers);
            for (var w = 0; w < devices.Count; w++)
            {
                var worker = system.ActorOf(DeviceWorker.Props(devices[w]), $"worker-{w}");
                coordinator.Ask<WorkerRegistered>(new RegisterWorker(worker, devices[w]), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            }
            IActorRef? evaluator = null;
            if (coordinatorOptions.Evaluation is { } evaluating && (evaluating.DuringTraining || evaluating.FinalTest))
            {
                evaluator = system.ActorOf(EvaluatorActor.Props(evaluating, evaluating.Device.Length > 0 ? evaluating.Device : config.Runtime.Device), "evaluator");
                coordinator.Ask<EvaluatorRegistered>(new RegisterEvaluator(evaluator), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            }
            var finished = new TaskCompletionSource<TrainingFinished>(TaskCreationOptions.RunContinuationsAsynchronously);
            var observer = system.ActorOf(TrainingObserver.Props(observe, finished), "observer");
            coordinator.Tell(new SubscribeTraining(observer));
            var answer = coordinator.Ask(new StartTraining(config.ToJson(), options.RunsRoot, options.RunDirectory, options.Resume,
                options.ConfigFromRun, options.StopAfterStep, options.ConfigHocon), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            if (answer is TrainingCommandRejected rejected) throw new TrainingFailedException(rejected.Reason);
            using var onCancel = cancellation.Register(() => coordinator.Tell(new PauseTraining()));
            var result = finished.Task.GetAwaiter().GetResult();
            // The run's last events (pause, completion) were told to its entity; its answer to a later question comes
            // only after they are persisted, so the journal is complete before this actor system stops.
            if (coordinatorOptions.Persist)
                coordinator.Ask<RunDetails>(new GetRunDetails(result.RunName), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            if (result.Error is not null) throw new TrainingFailedException(result.Error);
            // The final test evaluation follows completion; the process stays until it and the checkpoint evaluations
            // are recorded (a pause or stop leaves the rest to the next resume's evaluator).
            if (evaluator is not null && result.Result!.Completed && !cancellation.IsCancellationRequested)
                EvaluationWait.UntilDone(coordinator, evaluator, result.RunName, coordinatorOptions.Persist, TimeSpan.FromDays(7));
            return result.Result!;
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>cuda:0..W-1 when the device allows CUDA and there are W GPUs, else W CPU workers (or the one device named).</summary>
    public static IReadOnlyList<string> Devices(string preference, int workers)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker");
        var cudas = DevicePicker.Available().Where(d => d.type == TorchSharp.DeviceType.CUDA).ToList();
        if (preference is "auto" or "cuda" && cudas.Count >= workers)
            return Enumerable.Range(0, workers).Select(i => $"cuda:{i}").ToList();
        if (workers == 1) return [preference];
        return Enumerable.Repeat(preference == "auto" || preference.StartsWith("cuda", StringComparison.Ordinal) && cudas.Count < workers ? "cpu" : preference, workers).ToList();
    }
}
