using Akka.Actor;
using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Runs.Events;
using SeLoRA.Training.Engine;
using EngineCheckpointSaved = SeLoRA.Training.Engine.CheckpointSaved;
using EngineRanksExpanded = SeLoRA.Training.Engine.RanksExpanded;
using EngineRunStarted = SeLoRA.Training.Engine.RunStarted;

namespace SeLoRA.Cluster.Coordination;

/// <summary>
/// Turns a run's engine events into commands for its persistent <see cref="RunEntity"/>: steps batched, expansions,
/// checkpoints (with the validation loss before them), pauses, resumes and the end. Lives inside the coordinator.
/// </summary>
public sealed class RunRecorder(IActorRef entity, IActorRef replyTo, int stepsPerRecord, int workers)
{
    readonly List<double> losses = [];
    long firstPending = -1;
    double learningRate;
    int totalRank;
    double wall;
    (long Step, double Loss)? lastValidation;

    public IActorRef Entity { get; } = entity;

    public void On(TrainingEvent e)
    {
        switch (e)
        {
            case EngineRunStarted s when s.Resumed:
                Entity.Tell(new ResumeRun(s.StartStep), replyTo);
                break;
            case EngineRunStarted s:
                // Keyed by module name, as expansions name layers (text_model.* never collides with the U-Net's names).
                Entity.Tell(new StartRun(s.ConfigJson, s.ConfigHash, s.BaseModelHash, s.TotalSteps, workers,
                    s.Ranks?.ToDictionary(r => r.Key[(r.Key.IndexOf('.') + 1)..], r => r.Value)), replyTo);
                break;
            case StepCompleted c:
                if (firstPending < 0) firstPending = c.Metric.Step;
                losses.Add(c.Metric.Loss);
                learningRate = c.Metric.LearningRate;
                totalRank = c.Metric.TotalRank;
                wall = c.Metric.WallSeconds;
                if (losses.Count >= stepsPerRecord) Flush();
                break;
            case EngineRanksExpanded r:
                Flush();
                Entity.Tell(new RecordExpansion(r.Step, r.Changes.Select(c => new LayerRankChange(c.Layer, c.OldRank, c.NewRank)).ToList()), replyTo);
                break;
            case ValidationCompleted v:
                lastValidation = (v.Metric.Step, v.Metric.Loss);
                break;
            case EngineCheckpointSaved k:
                // The validation loss belongs to a checkpoint of the same step (the best one always has it).
                if (!k.Best) Flush();
                var loss = lastValidation is { } last && last.Step == k.Step ? last.Loss : (double?)null;
                Entity.Tell(new RecordCheckpoint(k.Step, Path.GetFileName(k.Directory), loss, k.Best, SeLoRA.Training.Engine.RunLayout.OfCheckpoint(k.Directory).Directory), replyTo);
                break;
        }
    }

    /// <summary>The session ended: completed, paused (resumable) or stopped; or failed with a reason.</summary>
    public void Finished(RunResult? result, string? error, bool stopped)
    {
        Flush();
        if (error is not null) Entity.Tell(new FailRun(error), replyTo);
        else if (result!.Completed)
            Entity.Tell(new CompleteRun(result.Step, result.Summary.ValidationLossFinal, result.Summary.TotalRankEnd, result.Summary.WallSeconds), replyTo);
        else if (stopped) Entity.Tell(new StopRun("stopped by request"), replyTo);
        else Entity.Tell(new PauseRun("paused"), replyTo);
    }

    void Flush()
    {
        if (losses.Count == 0) return;
        Entity.Tell(new RecordSteps(firstPending, firstPending + losses.Count - 1, losses.ToArray(), learningRate, totalRank, wall), replyTo);
        losses.Clear();
        firstPending = -1;
    }
}
