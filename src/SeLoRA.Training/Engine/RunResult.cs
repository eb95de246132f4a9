using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Engine;

/// <summary>How a run session ended.</summary>
public sealed record RunResult(string RunDirectory, long Step, bool Completed, RunSummary Summary);
