namespace SeLoRA.Training.Checkpoints;

/// <summary>A complete checkpoint folder and its state.</summary>
public sealed record CheckpointInfo(string Directory, CheckpointState State)
{
    public long Step => State.Step;
}
