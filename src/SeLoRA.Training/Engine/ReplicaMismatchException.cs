namespace SeLoRA.Training.Engine;

/// <summary>A replica whose adapters or optimizer state differ from the others; it needs resynchronising.</summary>
public sealed class ReplicaMismatchException(string worker, long step, string message) : InvalidOperationException(message)
{
    public string Worker { get; } = worker;

    public long Step { get; } = step;
}
