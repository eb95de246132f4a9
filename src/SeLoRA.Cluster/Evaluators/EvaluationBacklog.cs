using SeLoRA.Cluster.Runs;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>
/// What the journal says is still to evaluate, for an evaluator that (re)joins: saved checkpoints without a recorded
/// evaluation, and completed runs without their final test evaluation. Pure, so a restart never repeats recorded work.
/// </summary>
public static class EvaluationBacklog
{
    public static IReadOnlyList<object> Of(IEnumerable<RunState> runs, EvaluationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(settings);
        var work = new List<object>();
        foreach (var run in runs)
        {
            if (settings.DuringTraining)
            {
                var pending = run.Checkpoints
                    .Where(c => !c.Best && c.RunDirectory is not null && !run.HasEvaluation(c.Step, "valid"))
                    .GroupBy(c => c.Step).Select(g => g.Last())
                    .OrderBy(c => c.Step)
                    .ToList();
                // With skip-superseded only the newest waiting checkpoint matters, as it would in a live queue.
                if (settings.SkipSuperseded && run.Status == RunPhase.Running && pending.Count > 1) pending = [pending[^1]];
                work.AddRange(pending.Select(c => new EvaluateCheckpoint(run.Name, c.RunDirectory!, c.Step, c.CheckpointId)));
            }
            if (settings.FinalTest && run.Status == RunPhase.Completed && !run.HasFinalEvaluation
                && run.Checkpoints.LastOrDefault(c => c.RunDirectory is not null) is { } any)
                work.Add(new EvaluateFinal(run.Name, any.RunDirectory!));
        }
        return work;
    }
}
