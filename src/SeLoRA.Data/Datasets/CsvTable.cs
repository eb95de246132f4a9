using System.Text;

namespace SeLoRA.Data.Datasets;

/// <summary>
/// A small RFC 4180 reader: comma separated; fields may be quoted with '"', and a quoted field may contain commas,
/// doubled quotes ("") and line breaks; records end at CRLF, LF or CR. The first record is the header. Blank lines are
/// ignored. Errors (an unterminated quote, text after a closing quote, a record with a different field count from the
/// header) name the file and line. Written here because no CSV package is referenced by the solution.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string file, IReadOnlyList<string> header, IReadOnlyList<CsvRecord> rows)
    {
        File = file;
        Header = header;
        Rows = rows;
    }

    public string File { get; }

    public IReadOnlyList<string> Header { get; }

    public IReadOnlyList<CsvRecord> Rows { get; }

    public static CsvTable Read(string path)
    {
        if (!System.IO.File.Exists(path)) throw new DatasetFormatException(path, 0, "file not found.");
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(path, reader);
    }

    public static CsvTable Parse(string file, TextReader reader)
    {
        var records = ReadRecords(file, reader).ToList();
        if (records.Count == 0) throw new DatasetFormatException(file, 0, "empty CSV file (no header).");
        var header = records[0].Fields.Select(h => h.Trim()).ToArray();
        var rows = records.Skip(1).ToList();
        foreach (var row in rows)
            if (row.Fields.Count != header.Length)
                throw new DatasetFormatException(file, row.Line,
                    $"expected {header.Length} fields as in the header, found {row.Fields.Count}.");
        return new CsvTable(file, header, rows);
    }

    /// <summary>Index of a header column (case-insensitive, trimmed); throws naming the file and the column when absent.</summary>
    public int Column(string name)
    {
        var index = TryColumn(name);
        if (index < 0)
            throw new DatasetFormatException(File, 1,
                $"missing column '{name}' (header has: {string.Join(", ", Header)}).");
        return index;
    }

    public int TryColumn(string name)
    {
        for (var i = 0; i < Header.Count; i++)
            if (string.Equals(Header[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    private static IEnumerable<CsvRecord> ReadRecords(string file, TextReader reader)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var quoted = false;       // inside a quoted field
        var afterQuote = false;   // a quoted field just closed; only a separator may follow
        var fieldStarted = false; // the current record has content (distinguishes a blank line)
        int c;
        while ((c = reader.Read()) >= 0)
        {
            var ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else { quoted = false; afterQuote = true; }
                }
                else
                {
                    if (ch == '\n' || (ch == '\r' && reader.Peek() != '\n')) line++;
                    field.Append(ch);
                }
                continue;
            }
            if (ch == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
                afterQuote = false;
                fieldStarted = true;
            }
            else if (ch == '\r' || ch == '\n')
            {
                if (ch == '\r' && reader.Peek() == '\n') reader.Read();
                if (fieldStarted || field.Length > 0 || afterQuote)
                {
                    fields.Add(field.ToString());
                    yield return new CsvRecord(recordLine, fields.ToArray());
                }
                fields.Clear();
                field.Clear();
                afterQuote = false;
                fieldStarted = false;
                line++;
                recordLine = line;
            }
            else if (afterQuote)
            {
                throw new DatasetFormatException(file, line, $"unexpected '{ch}' after a closing quote (field {fields.Count + 1}).");
            }
            else if (ch == '"' && field.Length == 0)
            {
                quoted = true;
                fieldStarted = true;
            }
            else
            {
                field.Append(ch);
            }
        }
        if (quoted) throw new DatasetFormatException(file, recordLine, $"unterminated quoted field (field {fields.Count + 1}).");
        if (fieldStarted || field.Length > 0 || afterQuote)
        {
            fields.Add(field.ToString());
            yield return new CsvRecord(recordLine, fields.ToArray());
        }
    }
}
