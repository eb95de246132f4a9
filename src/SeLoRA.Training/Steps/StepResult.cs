using SeLoRA.Adapters.SeLora;

namespace SeLoRA.Training.Steps;

/// <summary>What one single-process step did: the batch loss and, on a SeLoRA test step, the test's decisions.</summary>
public sealed record StepResult(long Step, double Loss, ExpansionTestResult? Test);
