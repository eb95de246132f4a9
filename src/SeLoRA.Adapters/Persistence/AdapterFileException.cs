namespace SeLoRA.Adapters.Persistence;

/// <summary>An adapter file does not fit the model it is loaded into (missing, extra or misshapen keys, other method or
/// settings); the message names the file, the key and both shapes or values.</summary>
public sealed class AdapterFileException : Exception
{
    public AdapterFileException(string message) : base(message) { }

    public AdapterFileException(string message, Exception inner) : base(message, inner) { }
}
