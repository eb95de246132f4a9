namespace SeLoRA.Data.Datasets;

/// <summary>One CSV record and the 1-based physical line it starts on (a quoted field may span lines).</summary>
public sealed record CsvRecord(int Line, IReadOnlyList<string> Fields);
