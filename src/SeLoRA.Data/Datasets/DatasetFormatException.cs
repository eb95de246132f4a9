namespace SeLoRA.Data.Datasets;

/// <summary>Bad dataset input. The message starts with "file:line:" (line omitted when it is the whole file) and names the field.</summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException(string file, int line, string message, Exception? inner = null)
        : base(Format(file, line, message), inner)
    {
        File = file;
        Line = line;
    }

    public string File { get; }

    /// <summary>1-based line of the offending record; 0 when the problem concerns the whole file or folder.</summary>
    public int Line { get; }

    private static string Format(string file, int line, string message) =>
        line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}";
}
