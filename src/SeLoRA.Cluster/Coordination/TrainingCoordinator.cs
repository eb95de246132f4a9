using Akka.Actor;
using Akka.Event;
using SeLoRA.Cluster.Evaluators;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Coordination;

/// <summary>
/// Drives a run over the registered device workers: the run loop (<see cref="TrainingRun"/>, the same loop a single process
/// runs) executes on a dedicated thread with a <see cref="ClusterReplicaGroup"/>, and its events come back here to be
/// published. Pause, resume and stop are messages; a pause finishes the step, checkpoints and frees the workers' models.
/// </summary>
public sealed class TrainingCoordinator : ReceiveActor, IWithTimers
{
    readonly ILoggingAdapter log = Context.GetLogger();
    readonly List<(IActorRef Worker, string Device)> workers = [];
    readonly HashSet<IActorRef> subscribers = [];
    readonly List<IActorRef> evaluators = [];
    readonly CoordinatorOptions options;
    CancellationTokenSource? cancel;
    StartTraining? lastStart;
    string? runName;
    string? runDirectory;
    string state = "idle";
    long step;
    string? error;
    bool stopRequested;
    IActorRef? pauseRequester;
    RunRecorder? recorder;
    volatile ClusterReplicaGroup? group;

    public ITimerScheduler Timers { get; set; } = null!;

    public TrainingCoordinator(CoordinatorOptions options)
    {
        this.options = options;
        Receive<RegisterWorker>(m =>
        {
            if (workers.All(w => !w.Worker.Equals(m.Worker)))
            {
                workers.Add((m.Worker, m.Device));
                Context.Watch(m.Worker);
                log.Info("worker {0} ({1}) registered; {2} in all", m.Worker.Path, m.Device, workers.Count);
                // A running run takes it on before its next step, with the current state.
                if (state == "running") group?.Admit(m.Worker);
            }
            Sender.Tell(new WorkerRegistered(m.Worker.Path.ToString(), workers.Count));
        });
        Receive<RegisterEvaluator>(m =>
        {
            if (!evaluators.Contains(m.Evaluator))
            {
                evaluators.Add(m.Evaluator);
                Context.Watch(m.Evaluator);
                log.Info("evaluator {0} registered; {1} in all", m.Evaluator.Path, evaluators.Count);
                // What the journal shows unevaluated (a restart, or checkpoints saved while no evaluator was there).
                if (options.Persist && options.Evaluation is not null)
                {
                    var evaluator = m.Evaluator;
                    Self.Ask<RunsListed>(new ListRuns(), TimeSpan.FromSeconds(60))
                        .PipeTo(Self, success: l => new BacklogFound(evaluator, EvaluationBacklog.Of(l.Runs, options.Evaluation)),
                            failure: e => new BacklogFound(evaluator, []));
                }
            }
            Sender.Tell(new EvaluatorRegistered(m.Evaluator.Path.ToString(), evaluators.Count));
        });
        Receive<BacklogFound>(m =>
        {
            if (m.Work.Count > 0) log.Info("{0} evaluation(s) still to do from the journal", m.Work.Count);
            foreach (var work in m.Work) m.Evaluator.Tell(work);
        });
        Receive<CheckpointEvaluated>(m =>
        {
            if (options.Persist)
                Entity(m.RunName).Tell(new SeLoRA.Cluster.Runs.RecordEvaluation(m.Step, m.Metrics, m.Split, m.CheckpointId, m.Final));
            foreach (var s in subscribers) s.Tell(m);
        });
        Receive<CheckpointEvaluationFailed>(m => log.Warning("evaluation of {0} step {1} ({2}) failed: {3}", m.RunName, m.Step, m.Split, m.Reason));
        Receive<Terminated>(t =>
        {
            evaluators.Remove(t.ActorRef);
            workers.RemoveAll(w => w.Worker.Equals(t.ActorRef));
            subscribers.Remove(t.ActorRef);
            log.Warning("{0} stopped; {1} worker(s) left", t.ActorRef.Path, workers.Count);
        });
        Receive<SubscribeTraining>(m =>
        {
            subscribers.Add(m.Subscriber);
            Context.Watch(m.Subscriber);
        });
        Receive<StartTraining>(m => Start(m));
        Receive<ResumeTraining>(_ =>
        {
            if (state != "paused" || lastStart is null)
            {
                Sender.Tell(new TrainingCommandRejected($"nothing to resume: the coordinator is {state}."));
                return;
            }
            Start(lastStart with { Resume = "latest", RunDirectory = runDirectory, ConfigFromRun = true, StopAfterStep = null });
        });
        Receive<PauseTraining>(_ =>
        {
            if (state != "running")
            {
                Sender.Tell(new TrainingCommandRejected($"nothing to pause: the coordinator is {state}."));
                return;
            }
            state = "pausing";
            pauseRequester = Sender;
            cancel!.Cancel();
        });
        Receive<StopTraining>(_ =>
        {
            if (state is not ("running" or "paused"))
            {
                Sender.Tell(new TrainingCommandRejected($"nothing to stop: the coordinator is {state}."));
                return;
            }
            stopRequested = true;
            if (state == "paused")
            {
                state = "stopped";
                Sender.Tell(Status());
                return;
            }
            state = "stopping";
            pauseRequester = Sender;
            cancel!.Cancel();
        });
        Receive<TrainingEventOccurred>(m =>
        {
            switch (m.Event)
            {
                case RunStarted started:
                    runDirectory = started.RunDirectory;
                    runName = started.RunName;
                    if (options.Persist)
                    {
                        recorder = new RunRecorder(Entity(started.RunName), Self, options.StepsPerRecord, workers.Count);
                        Index().Tell(new SeLoRA.Cluster.Runs.IndexRun(started.RunName));
                    }
                    break;
                case StepCompleted completed:
                    step = completed.Metric.Step;
                    break;
                case SeLoRA.Training.Engine.CheckpointSaved saved when !options.Persist && !saved.Best && runName is not null:
                    // Without a journal the engine's event is all there is; with one, the recorded event dispatches.
                    Dispatch(new EvaluateCheckpoint(runName, RunLayout.OfCheckpoint(saved.Directory).Directory, saved.Step, Path.GetFileName(saved.Directory)));
                    break;
            }
            recorder?.On(m.Event);
            foreach (var s in subscribers) s.Tell(m);
        });
        Receive<SeLoRA.Cluster.Runs.CommandRejected>(m => log.Warning("run entity refused {0}: {1}", m.Command, m.Reason));
        Receive<SeLoRA.Cluster.Runs.Events.CheckpointSaved>(k =>
        {
            if (!k.Best && k.RunDirectory is not null && runName is not null)
                Dispatch(new EvaluateCheckpoint(runName, k.RunDirectory, k.Step, k.CheckpointId));
        });
        Receive<SeLoRA.Cluster.Runs.Events.RunCompleted>(_ =>
        {
            if (options.Evaluation is { FinalTest: true } && runName is not null && runDirectory is not null)
                Dispatch(new EvaluateFinal(runName, runDirectory));
        });
        Receive<SeLoRA.Cluster.Runs.Events.IRunEvent>(_ => { });
        Receive<TrainingFinished>(m =>
        {
            error = m.Error;
            state = m.Error is not null ? "failed"
                : stopRequested ? "stopped"
                : m.Result!.Completed ? "completed" : "paused";
            if (m.Result is not null) step = m.Result.Step;
            // With a journal the recorded RunCompleted dispatches it, after every CheckpointSaved of the run.
            if (state == "completed" && !options.Persist && options.Evaluation is { FinalTest: true } && runDirectory is not null)
                Dispatch(new EvaluateFinal(m.RunName, runDirectory));
            recorder?.Finished(m.Result, m.Error, stopRequested);
            group = null;
            log.Info("run {0} {1} at step {2}{3}", m.RunName, state, step, m.Error is null ? "" : ": " + m.Error);
            var finished = m with { Stopped = stopRequested };
            foreach (var s in subscribers) s.Tell(finished);
            pauseRequester?.Tell(Status());
            pauseRequester = null;
        });
        Receive<GetTrainingStatus>(_ => Sender.Tell(Status()));
        Receive<RecoverRuns>(_ => RecoverInterruptedRuns());
        Receive<ListRuns>(_ =>
        {
            if (!options.Persist)
            {
                Sender.Tell(new RunsListed([]));
                return;
            }
            var replyTo = Sender;
            var self = Self;
            Index().Ask<SeLoRA.Cluster.Runs.IndexedRuns>(new SeLoRA.Cluster.Runs.GetIndexedRuns(), TimeSpan.FromSeconds(30))
                .PipeTo(self, replyTo, runs => new ListIndexed(runs.Names, replyTo));
        });
        Receive<ListIndexed>(m =>
        {
            var entities = m.Names.Select(Entity).ToList(); // children are made on the actor's thread
            Task.WhenAll(entities.Select(e => e.Ask<SeLoRA.Cluster.Runs.RunStatus>(SeLoRA.Cluster.Runs.GetRunStatus.Instance, TimeSpan.FromSeconds(30))))
                .ContinueWith(t => t.IsCompletedSuccessfully ? (object)new RunsListed(t.Result.Select(r => r.State).ToArray())
                    : new Status.Failure(t.Exception!.GetBaseException()))
                .PipeTo(m.ReplyTo);
        });
        Receive<GetRunDetails>(m =>
        {
            if (!options.Persist)
            {
                Sender.Tell(new RunDetails(m.Name, null));
                return;
            }
            var replyTo = Sender;
            Entity(m.Name).Ask<SeLoRA.Cluster.Runs.RunStatus>(SeLoRA.Cluster.Runs.GetRunStatus.Instance, TimeSpan.FromSeconds(30))
                .ContinueWith(t => t.IsCompletedSuccessfully
                    ? new RunDetails(m.Name, t.Result.State.Status == SeLoRA.Cluster.Runs.RunPhase.NotStarted ? null : t.Result.State)
                    : new RunDetails(m.Name, null))
                .PipeTo(replyTo);
        });
        Receive<InterruptedRun>(ResumeInterrupted);
        Receive<NoInterruptedRun>(_ => { });
        Receive<Status.Failure>(f => log.Warning("looking for interrupted runs failed: {0}", f.Cause.Message));
        Receive<SeLoRA.Cluster.Runs.IndexedRuns>(FindInterrupted);
        Receive<SeLoRA.Cluster.Runs.RunIndexed>(_ => { });
    }

    sealed record BacklogFound(IActorRef Evaluator, IReadOnlyList<object> Work);

    /// <summary>Hands evaluation work to the evaluator of its run (one per run, so its queue sees every checkpoint of it).</summary>
    void Dispatch(object work)
    {
        if (options.Evaluation is null || evaluators.Count == 0) return;
        if (work is EvaluateCheckpoint && !options.Evaluation.DuringTraining) return;
        var run = work switch { EvaluateCheckpoint c => c.RunName, EvaluateFinal f => f.RunName, _ => "" };
        var index = (int)((uint)StringComparer.Ordinal.GetHashCode(run) % (uint)evaluators.Count);
        evaluators[index].Tell(work);
    }

    /// <summary>Checks the journal for runs whose coordinator was lost while they trained.</summary>
    sealed record RecoverRuns;

    protected override void PreStart()
    {
        if (options.Persist && options.RecoverRunsUnder is not null) Self.Tell(new RecoverRuns());
    }

    /// <summary>
    /// Looks (off the actor's thread) for a run the journal shows as running: its coordinator's node was lost. The answer
    /// comes back as a message; the run resumes once a worker has registered.
    /// </summary>
    void RecoverInterruptedRuns()
    {
        if (state is "running" or "pausing" or "stopping") return;
        Index().Ask<SeLoRA.Cluster.Runs.IndexedRuns>(new SeLoRA.Cluster.Runs.GetIndexedRuns(), TimeSpan.FromSeconds(30)).PipeTo(Self);
    }

    void FindInterrupted(SeLoRA.Cluster.Runs.IndexedRuns runs)
    {
        var entities = runs.Names.Select(n => (Name: n, Entity: Entity(n))).ToList(); // children are made on the actor's thread
        async Task<object> Find()
        {
            foreach (var (name, entity) in entities)
            {
                var status = await entity.Ask<SeLoRA.Cluster.Runs.RunStatus>(SeLoRA.Cluster.Runs.GetRunStatus.Instance, TimeSpan.FromSeconds(30));
                if (status.State.Status == SeLoRA.Cluster.Runs.RunPhase.Running) return new InterruptedRun(name, status.State.ConfigJson, status.State.Step);
            }
            return new NoInterruptedRun();
        }
        Find().PipeTo(Self);
    }

    sealed record ListIndexed(string[] Names, IActorRef ReplyTo);

    sealed record InterruptedRun(string Name, string ConfigJson, long Step);

    sealed record NoInterruptedRun;

    void ResumeInterrupted(InterruptedRun run)
    {
        if (state is "running" or "pausing" or "stopping") return;
        if (workers.Count == 0)
        {
            log.Info("run {0} was training when its coordinator was lost; resuming once a worker registers", run.Name);
            Timers.StartSingleTimer("recover", new RecoverRuns(), TimeSpan.FromSeconds(2));
            return;
        }
        log.Warning("run {0} was training when its coordinator was lost (journal at step {1}); resuming from its latest checkpoint", run.Name, run.Step);
        // The journal says Running; a pause first lets the resume be recorded as one.
        Entity(run.Name).Tell(new SeLoRA.Cluster.Runs.PauseRun("coordinator lost"));
        Start(new StartTraining(run.ConfigJson, options.RecoverRunsUnder!, Resume: "latest"));
    }

    IActorRef Index()
    {
        var child = Context.Child(SeLoRA.Cluster.Runs.RunIndex.Id);
        return child.IsNobody() ? Context.ActorOf(SeLoRA.Cluster.Runs.RunIndex.Props(), SeLoRA.Cluster.Runs.RunIndex.Id) : child;
    }

    public static Props Props(CoordinatorOptions options) => Akka.Actor.Props.Create(() => new TrainingCoordinator(options));

    /// <summary>The run's persistent entity, a child named after the run.</summary>
    IActorRef Entity(string name)
    {
        var childName = SeLoRA.Cluster.Runs.RunEntity.ActorNameFor(name);
        var child = Context.Child(childName);
        return child.IsNobody() ? Context.ActorOf(SeLoRA.Cluster.Runs.RunEntity.Props(name, options.EntityOptions), childName) : child;
    }

    TrainingStatus Status() => new(runName, state, step, workers.Count, runDirectory, error);

    void Start(StartTraining m)
    {
        if (state is "running" or "pausing" or "stopping")
        {
            Sender.Tell(new TrainingCommandRejected($"run {runName} is {state}; pause or stop it first."));
            return;
        }
        if (workers.Count == 0)
        {
            Sender.Tell(new TrainingCommandRejected("no device worker has registered; start a node with the worker role."));
            return;
        }
        TrainingConfig config;
        try
        {
            config = TrainingConfig.FromJson(m.ConfigJson, "StartTraining").Validate();
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            Sender.Tell(new TrainingCommandRejected(e.Message));
            return;
        }
        lastStart = m;
        stopRequested = false;
        error = null;
        state = "running";
        runName = config.Name;
        cancel = new CancellationTokenSource();
        var self = Self;
        var refs = workers.Select(w => w.Worker).ToList();
        var token = cancel.Token;
        var run = new RunOptions
        {
            RunsRoot = m.RunsRoot,
            RunDirectory = m.RunDirectory,
            Resume = m.Resume,
            ConfigFromRun = m.ConfigFromRun,
            StopAfterStep = m.StopAfterStep,
            ConfigHocon = m.ConfigHocon,
            Mirror = options.Mirror,
            Replicas = ClusterReplicaGroup.Factory(refs, LatentCacheRoot(config, m.RunsRoot), options.PrepareTimeout, options.StepTimeout,
                line => self.Tell(new TrainingEventOccurred(new RunProgressed(line))), Transport(), options.FingerprintEvery, g => group = g),
        };
        // The loop blocks on its steps: it gets its own thread and reports back by message.
        Task.Factory.StartNew(() =>
        {
            try
            {
                var result = TrainingRun.Execute(config, run, e => self.Tell(new TrainingEventOccurred(e)), token);
                return new TrainingFinished(result.Summary.RunName, result, null, false);
            }
            catch (Exception e)
            {
                return new TrainingFinished(config.Name, null, e.Message, false);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).PipeTo(self);
        Sender.Tell(new TrainingStarted(config.Name, refs.Count));
    }

    /// <summary>The tensor data channel when this system talks to other nodes; null for a purely local system.</summary>
    SeLoRA.Cluster.Transport.TensorTransport? Transport() =>
        ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.HasGlobalScope ? SeLoRA.Cluster.Transport.TensorTransport.Get(Context.System) : null;

    static string LatentCacheRoot(TrainingConfig config, string runsRoot) =>
        config.Data.LatentCache.Length > 0 ? Path.GetFullPath(config.Data.LatentCache) : Path.GetFullPath(Path.Combine(runsRoot, "latent-cache"));

    protected override void PostStop() => cancel?.Cancel();
}
