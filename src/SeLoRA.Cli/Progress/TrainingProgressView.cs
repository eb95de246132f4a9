using System.Globalization;
using SeLoRA.Training.Engine;
using Spectre.Console;

namespace SeLoRA.Cli.Progress;

/// <summary>
/// Shows a run's progress: a live bar (step, epoch, loss, total rank, it/s, ETA) on an interactive terminal, periodic
/// plain log lines otherwise (CI, pipes, files). Events arrive on the training thread.
/// </summary>
public sealed class TrainingProgressView
{
    readonly IAnsiConsole console;
    readonly bool interactive;
    readonly double logEverySeconds;
    readonly System.Diagnostics.Stopwatch sinceLine = System.Diagnostics.Stopwatch.StartNew();
    readonly System.Diagnostics.Stopwatch sessionClock = new();
    readonly Queue<double> recentLosses = new();
    ProgressTask? task;
    long startStep;
    long totalSteps;
    int stepsPerEpoch;

    public TrainingProgressView(IAnsiConsole console, bool interactive, double logEverySeconds)
    {
        this.console = console;
        this.interactive = interactive;
        this.logEverySeconds = logEverySeconds;
    }

    /// <summary>Runs <paramref name="train"/> with the view attached.</summary>
    public RunResult Run(Func<Action<TrainingEvent>, RunResult> train)
    {
        if (!interactive) return train(Observe);
        RunResult? result = null;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(),
                new RemainingTimeColumn())
            .Start(ctx =>
            {
                void Observe(TrainingEvent e)
                {
                    if (e is RunStarted started)
                        task = ctx.AddTask("starting", maxValue: Math.Max(1, started.TotalSteps - started.StartStep));
                    this.Observe(e);
                    ctx.Refresh();
                }
                result = train(Observe);
            });
        return result!;
    }

    void Observe(TrainingEvent e)
    {
        switch (e)
        {
            case RunProgressed p:
                Line(p.Message);
                break;
            case RunStarted s:
                startStep = s.StartStep;
                totalSteps = s.TotalSteps;
                stepsPerEpoch = s.StepsPerEpoch;
                sessionClock.Restart();
                Line($"{(s.Resumed ? "resuming" : "training")} {s.RunName}: steps {s.StartStep + 1}..{s.TotalSteps} ({s.StepsPerEpoch} per epoch), " +
                     $"{s.TrainCount} train / {s.ValidCount} valid / {s.TestCount} test images, total rank {s.TotalRank}, {s.TrainableParameters:N0} trainable parameters");
                break;
            case StepCompleted c:
            {
                var m = c.Metric;
                recentLosses.Enqueue(m.Loss);
                if (recentLosses.Count > 20) recentLosses.Dequeue();
                var done = m.Step - startStep;
                var rate = sessionClock.Elapsed.TotalSeconds > 0 ? done / sessionClock.Elapsed.TotalSeconds : 0;
                var eta = rate > 0 ? TimeSpan.FromSeconds((totalSteps - m.Step) / rate) : TimeSpan.Zero;
                var text = string.Create(CultureInfo.InvariantCulture,
                    $"step {m.Step}/{totalSteps} epoch {m.Epoch + 1}/{(totalSteps + stepsPerEpoch - 1) / Math.Max(1, stepsPerEpoch)} loss {m.Loss:F4} (avg {recentLosses.Average():F4}) rank {m.TotalRank} {rate:F2} it/s");
                if (task is not null)
                {
                    // Short enough for an 80-column terminal next to the bar.
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{m.Step}/{totalSteps} ep {m.Epoch + 1} loss {recentLosses.Average():F4} rank {m.TotalRank} {rate:F1} it/s"));
                    task.Value = done;
                }
                else if (sinceLine.Elapsed.TotalSeconds >= logEverySeconds || m.Step == totalSteps || m.Step == startStep + 1)
                {
                    Line($"{text} ETA {eta:hh\\:mm\\:ss}");
                }
                break;
            }
            case RanksExpanded r:
                Line(string.Create(CultureInfo.InvariantCulture, $"step {r.Step}: {r.Changes.Count} layer(s) changed rank (e.g. {r.Changes[0].Layer} {r.Changes[0].OldRank}->{r.Changes[0].NewRank}); total rank {r.TotalRank}"));
                break;
            case ValidationCompleted v:
                Line(string.Create(CultureInfo.InvariantCulture,
                    $"validation after step {v.Metric.Step}: loss {v.Metric.Loss:F5}{(v.Metric.Best ? " (best so far)" : v.Metric.Step == 0 ? " (before training)" : "")}"));
                break;
            case CheckpointSaved k when k.Best:
                break;
            case CheckpointSaved k:
                Line($"checkpoint {k.Directory}");
                break;
            case RunStopped:
                task?.StopTask();
                break;
        }
    }

    void Line(string text)
    {
        sinceLine.Restart();
        if (interactive) console.MarkupLine(Markup.Escape(text));
        else console.Profile.Out.Writer.WriteLine($"{DateTime.Now:HH:mm:ss} {text}");
    }
}
