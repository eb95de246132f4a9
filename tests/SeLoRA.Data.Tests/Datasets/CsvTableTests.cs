using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class CsvTableTests
{
    private static CsvTable Parse(string text) => CsvTable.Parse("t.csv", new StringReader(text));

    [Fact]
    public void QuotedFieldsKeepCommasQuotesAndLineBreaks()
    {
        var table = Parse("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n2,\"line one\nline two\",z\n\n3,,\"\"\n");
        Assert.Equal(["a", "b", "c"], table.Header);
        Assert.Equal(3, table.Rows.Count);
        Assert.Equal(["1", "x, y", "say \"hi\""], table.Rows[0].Fields);
        Assert.Equal(["2", "line one\nline two", "z"], table.Rows[1].Fields);
        Assert.Equal(["3", "", ""], table.Rows[2].Fields);
        // Records start on lines 2, 3 and 6 (the quoted break and the blank line count).
        Assert.Equal([2, 3, 6], table.Rows.Select(r => r.Line));
    }

    [Fact]
    public void LastRecordWithoutNewlineIsRead()
    {
        var table = Parse("a,b\n1,2");
        Assert.Equal(["1", "2"], Assert.Single(table.Rows).Fields);
    }

    [Fact]
    public void UnterminatedQuoteNamesFileAndLine()
    {
        var e = Assert.Throws<DatasetFormatException>(() => Parse("a,b\n1,2\n3,\"open\n\nmore"));
        Assert.StartsWith("t.csv:3:", e.Message);
        Assert.Contains("unterminated", e.Message);
    }

    [Fact]
    public void TextAfterClosingQuoteNamesFileAndLine()
    {
        var e = Assert.Throws<DatasetFormatException>(() => Parse("a,b\n1,\"x\"y\n"));
        Assert.StartsWith("t.csv:2:", e.Message);
    }

    [Fact]
    public void WrongFieldCountNamesFileAndLine()
    {
        var e = Assert.Throws<DatasetFormatException>(() => Parse("a,b,c\n1,2,3\n4,5\n"));
        Assert.StartsWith("t.csv:3:", e.Message);
        Assert.Contains("expected 3 fields", e.Message);
    }

    [Fact]
    public void MissingColumnNamesFileAndColumn()
    {
        var table = Parse("uid,findings\n1,x\n");
        Assert.Equal(1, table.Column("FINDINGS"));
        var e = Assert.Throws<DatasetFormatException>(() => table.Column("impression"));
        Assert.StartsWith("t.csv:1:", e.Message);
        Assert.Contains("missing column 'impression'", e.Message);
    }
}
