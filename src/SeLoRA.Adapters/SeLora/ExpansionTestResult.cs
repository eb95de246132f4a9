namespace SeLoRA.Adapters.SeLora;

/// <summary>The outcome of one expansion test over all SeLoRA layers.</summary>
public sealed record ExpansionTestResult(long Step, IReadOnlyList<ExpansionDecision> Decisions)
{
    public int ExpandedCount => Decisions.Count(d => d.Expand);
}
