using Akka.Actor;
using SeLoRA.Cluster.Coordination;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>Blocks a process that is about to end until its evaluator has finished and its results are recorded.</summary>
public static class EvaluationWait
{
    /// <summary>
    /// Waits for <paramref name="evaluator"/> to be idle after <paramref name="runName"/> completed. Once the run's entity
    /// answers for its details it has recorded the completion and replied to the coordinator; once the coordinator then
    /// answers a status request it has handed out every recorded checkpoint and the final evaluation (mailboxes are in
    /// order); the evaluator tells its last result to the coordinator before it answers idle; the entity has recorded that
    /// result once it answers for the run's details again.
    /// </summary>
    public static EvaluatorStatus UntilDone(IActorRef coordinator, IActorRef evaluator, string runName, bool persisted, TimeSpan timeout)
    {
        if (persisted) coordinator.Ask<RunDetails>(new GetRunDetails(runName), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
        coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
        var status = evaluator.Ask<EvaluatorStatus>(WhenEvaluatorIdle.Instance, timeout).GetAwaiter().GetResult();
        if (persisted) coordinator.Ask<RunDetails>(new GetRunDetails(runName), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
        return status;
    }
}
