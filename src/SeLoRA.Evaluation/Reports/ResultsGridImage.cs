namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// A results grid as written: its size, what each row and column shows, and where the cells are (row r, column c has
/// its top-left corner at <see cref="CellOrigin"/> and is <see cref="Cell"/> pixels square; column 0 is the real image).
/// </summary>
public sealed record ResultsGridImage
{
    public required string Path { get; init; }
    public required string Dataset { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required int Cell { get; init; }

    /// <summary>Sample ids, one per row.</summary>
    public required IReadOnlyList<string> SampleIds { get; init; }

    /// <summary>"real", then each method's column title.</summary>
    public required IReadOnlyList<string> ColumnTitles { get; init; }

    /// <summary>The run folder behind each method column (column c + 1).</summary>
    public required IReadOnlyList<string> Runs { get; init; }

    /// <summary>Missing or unreadable images, drawn as placeholders.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    public int Rows => SampleIds.Count;
    public int Columns => ColumnTitles.Count;

    public (int X, int Y) CellOrigin(int row, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Columns);
        return ResultsGrid.CellOrigin(row, column, Cell);
    }
}
