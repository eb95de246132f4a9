using System.Globalization;
using System.Text;
using SeLoRA.Adapters.Core;

namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// The learned-rank report: every adapted layer classified (component, kind, position), in model order, with
/// totals, a fixed-width table, CSV, a per-kind summary and the grid of the paper's Figure 3.
/// </summary>
public sealed class RankReport
{
    /// <summary>CSV columns, in order. Reading needs <c>layer</c>, <c>in</c>, <c>out</c> and <c>rank</c>; the rest is derived.</summary>
    public static readonly IReadOnlyList<string> CsvColumns =
        ["layer", "component", "kind", "attention", "position", "in", "out", "rank", "trainable_params"];

    RankReport(IReadOnlyList<RankReportRow> rows) => Rows = rows;

    /// <summary>The layers in model (forward-pass) order: text encoder first, then UNet down, mid and up blocks.</summary>
    public IReadOnlyList<RankReportRow> Rows { get; }

    public RankTotals Totals => TotalsOf(Rows);

    public RankTotals TotalsFor(ModelComponent component) => TotalsOf(Rows.Where(r => r.Component == component));

    public static RankReport Create(IEnumerable<AdaptedLayerInfo> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var list = layers.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in list)
        {
            ArgumentNullException.ThrowIfNull(layer);
            layer.Validate();
            if (!seen.Add(layer.Name)) throw new ArgumentException($"Layer '{layer.Name}' appears twice in the rank report input.");
        }
        // Stable: layers at the same position keep their input order (q, k, v as injected).
        var rows = list
            .Select(l => new RankReportRow(l, LayerClassifier.Classify(l.Name)))
            .Select((row, i) => (row, i))
            .OrderBy(x => x.row.Position)
            .ThenBy(x => x.row.Kind)
            .ThenBy(x => x.i)
            .Select(x => x.row)
            .ToList();
        return new RankReport(rows);
    }

    /// <summary>From live adapters; parameter counts come from each adapter's <see cref="IAdapter.TrainableParameters"/>.</summary>
    public static RankReport FromAdapters(IEnumerable<IAdapter> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        return Create(adapters.Select(AdaptedLayerInfo.FromAdapter));
    }

    /// <summary>Mean, min and max rank per (component, kind, attention) group, in component then kind order.</summary>
    public IReadOnlyList<RankSummaryRow> Summary() => Rows
        .GroupBy(r => (r.Component, r.Kind, r.Attention))
        .OrderBy(g => g.Key.Component).ThenBy(g => g.Key.Kind).ThenBy(g => g.Key.Attention)
        .Select(g => new RankSummaryRow(g.Key.Component, g.Key.Kind, g.Key.Attention, g.Count(),
            g.Average(r => (double)r.Rank), g.Min(r => r.Rank), g.Max(r => r.Rank), g.Sum(r => r.TrainableParameters)))
        .ToList();

    /// <summary>The grid the heat map draws: rows = kinds, one panel per component, columns = positions.</summary>
    public RankHeatmapGrid ToHeatmapGrid() => RankHeatmapGrid.From(this);

    /// <summary>Plain-text table with fixed-width columns, then per-component and overall totals.</summary>
    public string ToTable()
    {
        string[] header = ["layer", "component", "kind", "in", "out", "rank", "trainable params"];
        var right = new[] { false, false, false, true, true, true, true };
        var lines = Rows.Select(r => new[]
        {
            r.Name, LayerClassifier.ComponentLabel(r.Component), LayerClassifier.KindLabel(r.Kind), Int(r.InFeatures), Int(r.OutFeatures),
            Int(r.Rank), Int(r.TrainableParameters),
        }).ToList();
        var widths = header.Select((h, c) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[c].Length))).ToArray();

        var sb = new StringBuilder();
        void Line(string[] cells) =>
            sb.AppendLine(string.Join("  ", cells.Select((cell, c) => right[c] ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd());
        Line(header);
        sb.AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        foreach (var line in lines) Line(line);
        sb.AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        foreach (var component in Enum.GetValues<ModelComponent>())
            if (Rows.Any(r => r.Component == component))
                sb.AppendLine(TotalsLine(LayerClassifier.ComponentLabel(component), TotalsFor(component)));
        sb.AppendLine(TotalsLine("total", Totals));
        return sb.ToString();
    }

    /// <summary>The summary as text: one line per group, then the groups with the highest mean rank.</summary>
    public string ToSummaryText()
    {
        var summary = Summary();
        var sb = new StringBuilder();
        sb.AppendLine($"{"component",-13}  {"kind",-5}  {"attention",-9}  {"layers",6}  {"mean rank",9}  {"min",5}  {"max",5}  {"trainable params",16}");
        foreach (var s in summary)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{LayerClassifier.ComponentLabel(s.Component),-13}  {LayerClassifier.KindLabel(s.Kind),-5}  {AttentionText(s.Attention),-9}  {s.Layers,6}  {s.MeanRank,9:0.00}  {s.MinRank,5}  {s.MaxRank,5}  {s.TrainableParameters,16}"));
        foreach (var component in Enum.GetValues<ModelComponent>())
        {
            var top = summary.Where(s => s.Component == component).OrderByDescending(s => s.MeanRank).Take(3).ToList();
            if (top.Count == 0) continue;
            var totals = TotalsFor(component);
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{LayerClassifier.ComponentLabel(component)}: mean rank {totals.MeanRank:0.00}; highest: ")
                + string.Join(", ", top.Select(s => string.Create(CultureInfo.InvariantCulture,
                    $"{LayerClassifier.KindLabel(s.Kind)}{(s.Attention == AttentionRole.Cross ? " (cross)" : s.Attention == AttentionRole.Self && component == ModelComponent.Unet ? " (self)" : "")} {s.MeanRank:0.00}"))));
        }
        return sb.ToString();
    }

    public string ToCsv()
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(',', CsvColumns));
        foreach (var r in Rows)
            sb.AppendLine(string.Join(',', new[]
            {
                r.Name, LayerClassifier.ComponentLabel(r.Component), LayerClassifier.KindLabel(r.Kind), AttentionText(r.Attention),
                r.Position.Key, Int(r.InFeatures), Int(r.OutFeatures), Int(r.Rank), Int(r.TrainableParameters),
            }.Select(Quote)));
        return sb.ToString();
    }

    public void WriteCsv(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        File.WriteAllText(path, ToCsv());
    }

    /// <summary>Reads a CSV written by <see cref="ToCsv"/> (or any CSV with the columns layer, in, out, rank and optionally trainable_params).</summary>
    public static RankReport ParseCsv(string csv, string source = "CSV")
    {
        ArgumentNullException.ThrowIfNull(csv);
        var records = ParseRecords(csv, source);
        if (records.Count == 0) throw new FormatException($"{source}: empty, expected a header line.");
        var header = records[0];
        int Column(string name, bool required)
        {
            var index = Array.IndexOf(header, name);
            if (index < 0 && required) throw new FormatException($"{source}: the header has no '{name}' column.");
            return index;
        }
        int layer = Column("layer", true), inF = Column("in", true), outF = Column("out", true), rank = Column("rank", true);
        var parameters = Column("trainable_params", false);

        var layers = new List<AdaptedLayerInfo>();
        for (var line = 1; line < records.Count; line++)
        {
            var fields = records[line];
            if (fields.Length == 1 && fields[0].Length == 0) continue;
            if (fields.Length != header.Length)
                throw new FormatException($"{source}, record {line + 1}: {fields.Length} fields, the header has {header.Length}.");
            long Number(int column) =>
                long.TryParse(fields[column], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new FormatException($"{source}, record {line + 1}: '{header[column]}' = '{fields[column]}' is not an integer.");
            var info = new AdaptedLayerInfo(fields[layer], checked((int)Number(rank)), Number(inF), Number(outF));
            if (parameters >= 0 && Number(parameters) != info.TrainableParameters)
                info = info with { ReportedParameters = Number(parameters) };
            layers.Add(info);
        }
        return Create(layers);
    }

    public static RankReport ReadCsv(string path) => ParseCsv(File.ReadAllText(path), path);

    static RankTotals TotalsOf(IEnumerable<RankReportRow> rows)
    {
        var list = rows.ToList();
        return new RankTotals(list.Count, list.Sum(r => (long)r.Rank), list.Sum(r => r.TrainableParameters));
    }

    static string TotalsLine(string what, RankTotals t) => string.Create(CultureInfo.InvariantCulture,
        $"{what}: {t.Layers} layers, rank sum {t.RankSum}, mean rank {t.MeanRank:0.00}, {t.TrainableParameters} trainable params");

    static string AttentionText(AttentionRole role) => role switch
    {
        AttentionRole.Self => "self",
        AttentionRole.Cross => "cross",
        _ => "",
    };

    static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    /// <summary>RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.</summary>
    static List<string[]> ParseRecords(string csv, string source)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < csv.Length; i++)
        {
            var c = csv[i];
            any = true;
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < csv.Length && csv[i + 1] == '\n') i++;
                fields.Add(field.ToString());
                field.Clear();
                records.Add(fields.ToArray());
                fields.Clear();
                any = false;
            }
            else field.Append(c);
        }
        if (quoted) throw new FormatException($"{source}: a quoted field is not closed.");
        if (any)
        {
            fields.Add(field.ToString());
            records.Add(fields.ToArray());
        }
        return records;
    }
}
