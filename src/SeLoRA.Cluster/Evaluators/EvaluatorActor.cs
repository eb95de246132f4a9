using Akka.Actor;
using Akka.Event;
using SeLoRA.Evaluation.Reports;
using SeLoRA.Torch.Devices;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Engine;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>
/// Evaluates checkpoints off the training path: a queue, at most selora.eval.max-concurrent evaluations at once, each on
/// its own below-normal-priority thread with results piped back. With skip-superseded a waiting checkpoint is dropped
/// when a newer one of the same run arrives; a run's final evaluation waits until its earlier ones are done, so a
/// metric-chosen best sees them all. Results go to whoever asked (the coordinator), which persists them.
/// </summary>
public sealed class EvaluatorActor : ReceiveActor
{
    sealed record Job(string RunName, string RunDirectory, long Step, string CheckpointId, string Split, bool Final, IActorRef ReplyTo)
    {
        public string Label => Final ? $"{RunName}@final/test" : $"{RunName}@{Step}/{Split}";
    }

    sealed record JobDone(Job Job, EvaluationReport? Report, string? Skipped, CheckpointEvaluator Evaluator);

    sealed record JobFailed(Job Job, Exception Error, CheckpointEvaluator Evaluator);

    readonly ILoggingAdapter log = Context.GetLogger();
    readonly EvaluationSettings settings;
    readonly string device;
    readonly LinkedList<Job> queue = new();
    readonly List<Job> running = [];
    readonly Stack<CheckpointEvaluator> idleEvaluators = new();
    readonly List<IActorRef> idleWaiters = [];
    readonly CancellationTokenSource stopping = new();
    int completed, skipped, failed;

    public EvaluatorActor(EvaluationSettings settings, string device)
    {
        this.settings = settings;
        this.device = device;
        Receive<EvaluateCheckpoint>(m =>
        {
            var job = new Job(m.RunName, m.RunDirectory, m.Step, m.CheckpointId, m.Split, false, Sender);
            if (queue.Concat(running).Any(j => !j.Final && j.RunName == job.RunName && j.Step == job.Step && j.Split == job.Split)) return;
            if (settings.SkipSuperseded)
                for (var node = queue.First; node is not null;)
                {
                    var next = node.Next;
                    if (!node.Value.Final && node.Value.RunName == job.RunName && node.Value.Split == job.Split && node.Value.Step < job.Step)
                    {
                        log.Info("evaluation of {0} skipped: superseded by step {1}", node.Value.Label, job.Step);
                        queue.Remove(node);
                        skipped++;
                    }
                    node = next;
                }
            queue.AddLast(job);
            Pump();
        });
        Receive<EvaluateFinal>(m =>
        {
            if (queue.Concat(running).Any(j => j.Final && j.RunName == m.RunName)) return;
            queue.AddLast(new Job(m.RunName, m.RunDirectory, -1, "", TrainingData.Test, true, Sender));
            Pump();
        });
        Receive<JobDone>(m =>
        {
            Finish(m.Job, m.Evaluator);
            if (m.Report is null)
            {
                skipped++;
                log.Warning("evaluation of {0} skipped: {1}", m.Job.Label, m.Skipped);
            }
            else
            {
                completed++;
                var path = Path.Combine(new RunLayout(m.Job.RunDirectory).Evaluations, EvaluationReport.FileName(m.Report.CheckpointName, m.Report.Split));
                m.Job.ReplyTo.Tell(new CheckpointEvaluated(m.Job.RunName, m.Report.Step, m.Report.CheckpointName, m.Report.Split, m.Job.Final, m.Report.Metrics, path));
            }
            Pump();
        });
        Receive<JobFailed>(m =>
        {
            Finish(m.Job, m.Evaluator);
            failed++;
            log.Error("evaluation of {0} failed: {1}", m.Job.Label, m.Error.Message);
            m.Job.ReplyTo.Tell(new CheckpointEvaluationFailed(m.Job.RunName, m.Job.Step, m.Job.Split, m.Job.Final, m.Error.Message));
            Pump();
        });
        Receive<GetEvaluatorStatus>(_ => Sender.Tell(Status()));
        Receive<WhenEvaluatorIdle>(_ =>
        {
            if (queue.Count == 0 && running.Count == 0) Sender.Tell(Status());
            else idleWaiters.Add(Sender);
        });
    }

    EvaluatorStatus Status() => new(running.Select(j => j.Label).ToList(), queue.Select(j => j.Label).ToList(), completed, skipped, failed);

    void Finish(Job job, CheckpointEvaluator evaluator)
    {
        running.Remove(job);
        idleEvaluators.Push(evaluator);
    }

    void Pump()
    {
        while (running.Count < settings.MaxConcurrent && Next() is { } job)
        {
            queue.Remove(job);
            running.Add(job);
            Start(job);
        }
        if (queue.Count == 0 && running.Count == 0 && idleWaiters.Count > 0)
        {
            var status = Status();
            foreach (var waiter in idleWaiters) waiter.Tell(status);
            idleWaiters.Clear();
        }
    }

    /// <summary>The first queued job that may start: a final one only once nothing earlier of its run is queued or running.</summary>
    Job? Next()
    {
        foreach (var job in queue)
        {
            if (!job.Final) return job;
            var earlier = running.Any(j => j.RunName == job.RunName)
                          || queue.TakeWhile(j => !ReferenceEquals(j, job)).Any(j => j.RunName == job.RunName);
            if (!earlier) return job;
        }
        return null;
    }

    void Start(Job job)
    {
        if (!idleEvaluators.TryPop(out var evaluator))
        {
            evaluator = new CheckpointEvaluator(settings, DevicePicker.Pick(device, "selora.eval.device"), line => log.Info("{0}", line));
        }
        var self = Self;
        var token = stopping.Token;
        var thread = new Thread(() =>
        {
            object result;
            try
            {
                var target = Resolve(job);
                result = target.Target is null
                    ? new JobDone(job, null, target.Why, evaluator)
                    : new JobDone(job, evaluator.Evaluate(target.Target, token), null, evaluator);
            }
            catch (Exception e)
            {
                result = new JobFailed(job, e, evaluator);
            }
            self.Tell(result);
        })
        {
            IsBackground = true,
            Priority = ThreadPriority.BelowNormal, // training's threads come first
            Name = $"selora-evaluator {job.Label}",
        };
        thread.Start();
    }

    /// <summary>The checkpoint folder a job evaluates, or why there is none (retention deleted it; no best yet).</summary>
    (EvaluationTarget? Target, string? Why) Resolve(Job job)
    {
        var layout = new RunLayout(job.RunDirectory);
        var store = new CheckpointStore(layout.Checkpoints, 1);
        if (!job.Final)
        {
            var folder = Path.Combine(layout.Checkpoints, job.CheckpointId);
            return File.Exists(Path.Combine(folder, CheckpointState.FileName))
                ? (new EvaluationTarget(layout.Directory, folder, job.Split), null)
                : (null, $"{folder} no longer exists (checkpoint retention removed it before its turn)");
        }
        if (settings.BestBy == MetricNames.ValidationLoss)
        {
            var best = store.Best();
            return best is null
                ? (null, $"{layout.Checkpoints} has no best checkpoint (no validation ran)")
                : (new EvaluationTarget(layout.Directory, best.Directory, TrainingData.Test, Final: true), null);
        }
        var reports = Directory.Exists(layout.Evaluations)
            ? Directory.EnumerateFiles(layout.Evaluations, "*-valid.json").Select(EvaluationReport.Read).ToList()
            : [];
        var chosen = BestCheckpoint.Select(reports, settings.BestBy,
            r => File.Exists(Path.Combine(layout.Checkpoints, r.CheckpointName, CheckpointState.FileName)));
        return chosen is null
            ? (null, $"no kept checkpoint of {layout.Directory} has a {settings.BestBy} evaluation to choose the best by")
            : (new EvaluationTarget(layout.Directory, Path.Combine(layout.Checkpoints, chosen.CheckpointName), TrainingData.Test, Final: true), null);
    }

    protected override void PostStop()
    {
        stopping.Cancel();
        // Threads still evaluating hold their evaluator; only idle ones are released here.
        while (idleEvaluators.TryPop(out var evaluator)) evaluator.Dispose();
        base.PostStop();
    }

    public static Props Props(EvaluationSettings settings, string device) => Akka.Actor.Props.Create(() => new EvaluatorActor(settings, device));
}
