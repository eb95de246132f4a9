using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeLoRA.Training.Runs;

/// <summary>
/// An append-only JSON-lines file (metrics.jsonl, validation.jsonl, ranks.jsonl): one record per line, snake_case
/// names, NaN and Infinity as named literals. Each <see cref="Append"/> is synced to disk, so a killed process loses
/// at most the line it was writing; <see cref="Read"/> skips such a torn last line, and opening the log again cuts it off
/// before appending. Not thread-safe.
/// </summary>
public sealed class JsonLinesLog<T> : IDisposable
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    readonly FileStream _stream;

    /// <summary>Opens (or creates, with its folder) the log for appending; a torn last line from a killed writer is removed first.</summary>
    public JsonLinesLog(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        AtomicFile.CreateParent(Path);
        _stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            // Appending after a torn line would glue the new record onto it and corrupt a middle line.
            var end = CompleteLength(_stream);
            if (end != _stream.Length)
            {
                _stream.SetLength(end);
                _stream.Flush(flushToDisk: true);
            }
            _stream.Seek(0, SeekOrigin.End);
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>Writes one record as one line and syncs it to disk.</summary>
    public void Append(T record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var bytes = Utf8.GetBytes(JsonSerializer.Serialize(record, JsonOptions) + "\n");
        _stream.Write(bytes, 0, bytes.Length);
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// All complete records. A last line without its newline is a write cut short and is skipped; blank lines are
    /// ignored; any other line that does not parse is an error naming the file and line. A missing file has no records.
    /// </summary>
    public static IReadOnlyList<T> Read(string path) => ReadLines(path).Select(l => l.Record).ToList();

    /// <summary>
    /// Keeps only the records <paramref name="keep"/> accepts (on resume: those up to the checkpoint's step), replacing
    /// the file atomically; kept lines are copied byte for byte. A torn last line is dropped. A missing file stays missing.
    /// </summary>
    public static void TruncateAfter(string path, Func<T, bool> keep)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(keep);
        if (!File.Exists(path)) return;
        var kept = ReadLines(path).Where(l => keep(l.Record)).Select(l => l.Text).ToList();
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }

    static List<(T Record, string Text)> ReadLines(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var result = new List<(T, string)>();
        if (!File.Exists(path)) return result;
        string text;
        // The writer may hold the file open; share it rather than fail.
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream, Utf8))
            text = reader.ReadToEnd();
        var lines = text.Split('\n');
        // After the last '\n' comes either nothing or a torn line.
        for (var i = 0; i < lines.Length - 1; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            T? record;
            try
            {
                record = JsonSerializer.Deserialize<T>(line, JsonOptions);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}, line {i + 1}: not a valid {typeof(T).Name} record ({e.Message}): {Excerpt(line)}", e);
            }
            if (record is null) throw new InvalidDataException($"{path}, line {i + 1}: null where a {typeof(T).Name} record was expected.");
            result.Add((record, line));
        }
        return result;
    }

    /// <summary>Bytes up to and including the last '\n'.</summary>
    static long CompleteLength(FileStream stream)
    {
        var buffer = new byte[64 * 1024];
        var position = stream.Length;
        while (position > 0)
        {
            var count = (int)Math.Min(buffer.Length, position);
            position -= count;
            stream.Seek(position, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, count);
            var index = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (index >= 0) return position + index + 1;
        }
        return 0;
    }

    static string Excerpt(string line) => line.Length <= 120 ? line : line[..117] + "...";
}
