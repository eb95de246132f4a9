namespace SeLoRA.Training.Checkpoints;

/// <summary>A checkpoint could not be written (full disk, unwritable folder); the previous checkpoints are untouched.</summary>
public sealed class CheckpointWriteException(string message, Exception inner) : IOException(message, inner);
