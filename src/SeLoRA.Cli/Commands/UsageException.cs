namespace SeLoRA.Cli.Commands;

/// <summary>A command-line mistake the user can fix; printed as one line with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
