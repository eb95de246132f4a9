namespace SeLoRA.Training.Engine;

/// <summary>A resume whose config or base model differs from the run's; the message lists what differs.</summary>
public sealed class ResumeRefusedException(string message) : InvalidOperationException(message);
