namespace SeLoRA.Torch.Safetensors;

/// <summary>A weight file, index or model folder is missing, malformed or ambiguous; the message names the file.</summary>
public sealed class WeightFileException : Exception
{
    public WeightFileException(string message) : base(message) { }

    public WeightFileException(string message, Exception inner) : base(message, inner) { }
}
