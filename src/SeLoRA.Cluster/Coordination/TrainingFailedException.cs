namespace SeLoRA.Cluster.Coordination;

/// <summary>A run that ended with an error on the coordinator; the message is the engine's (it names what went wrong).</summary>
public sealed class TrainingFailedException(string message) : Exception(message);
