namespace SeLoRA.Diffusion.Loading;

/// <summary>The tensors do not fit the module: missing or unexpected keys, or a shape or dtype-kind mismatch.</summary>
public sealed class StateDictMismatchException(string message, LoadReport report) : Exception(message)
{
    /// <summary>Everything that did not match, for callers that want the lists rather than the message.</summary>
    public LoadReport Report { get; } = report;
}
