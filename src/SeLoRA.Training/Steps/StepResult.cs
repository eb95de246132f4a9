using SeLoRA.Training.Runs;
using SeLoRA.Adapters.SeLora;

namespace SeLoRA.Training.Steps;

/// <summary>
/// What one step did: the batch loss, on a SeLoRA test step the test's decisions, and the layers whose rank changed
/// (SeLoRA expansions or AdaLoRA masks).
/// </summary>
public sealed record StepResult(long Step, double Loss, ExpansionTestResult? Test, IReadOnlyList<RankChange>? RankChanges = null)
{
    public IReadOnlyList<RankChange> Changes => RankChanges ?? (IReadOnlyList<RankChange>)(Test?.Decisions
        .Where(d => d.Expand).Select(d => new RankChange(Step, d.Name, d.RankBefore, d.RankBefore + 1)).ToList() ?? []);
}
