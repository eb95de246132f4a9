using System.Globalization;
using System.Text;

namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// The SeLoRA paper's Table 1 from evaluation reports: one row per (method, dataset), each metric as mean ± sample
/// standard deviation over seeds, the best value per dataset and metric marked. Metrics are grouped only by their exact
/// name, so FD-ResNet18 and FID never average together; runs that measured one metric differently (network, resize,
/// image counts in <see cref="EvaluationReport.Details"/>) are warned about.
/// </summary>
public sealed class ResultsTable
{
    ResultsTable(IReadOnlyList<ResultsRow> rows, IReadOnlyList<string> datasets, IReadOnlyDictionary<string, IReadOnlyList<string>> metrics,
                 IReadOnlyList<string> warnings, string split)
    {
        Rows = rows;
        Datasets = datasets;
        MetricsByDataset = metrics;
        Warnings = warnings;
        Split = split;
    }

    /// <summary>Rows by dataset (ordinal), then method in the paper's order.</summary>
    public IReadOnlyList<ResultsRow> Rows { get; }

    public IReadOnlyList<string> Datasets { get; }

    /// <summary>Per dataset, its metric names in column order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> MetricsByDataset { get; }

    /// <summary>Every metric name of any dataset, in column order (the CSV's metric columns).</summary>
    public IReadOnlyList<string> Metrics =>
        MetricsByDataset.Values.SelectMany(m => m).Distinct().Order(Comparer<string>.Create(ResultsNaming.CompareMetrics)).ToList();

    /// <summary>Methods present, in the paper's order.</summary>
    public IReadOnlyList<string> Methods =>
        Rows.Select(r => r.Method).Distinct().Order(Comparer<string>.Create(ResultsNaming.CompareMethods)).ToList();

    /// <summary>The loader's warnings followed by the table's own (detail mismatches, missing metrics, repeated seeds).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public string Split { get; }

    public ResultsRow? Row(string method, string dataset) =>
        Rows.FirstOrDefault(r => r.Method == ResultsNaming.MethodKey(method) && r.Dataset == dataset);

    public static ResultsTable Build(ResultsLoad load, string split = ResultsLoader.Test) => Build(load.Runs, load.Warnings, split);

    public static ResultsTable Build(IEnumerable<ResultsRun> runs, IEnumerable<string>? warnings = null, string split = ResultsLoader.Test)
    {
        var all = runs.ToList();
        var notes = new List<string>(warnings ?? []);
        var methodOrder = Comparer<string>.Create(ResultsNaming.CompareMethods);
        var metricOrder = Comparer<string>.Create(ResultsNaming.CompareMetrics);

        var rows = new List<ResultsRow>();
        var datasets = all.Select(r => r.Report.Dataset).Distinct().Order(StringComparer.Ordinal).ToList();
        var metricsByDataset = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var dataset in datasets)
        {
            var ofDataset = all.Where(r => r.Report.Dataset == dataset).ToList();
            var metrics = ofDataset.SelectMany(r => r.Report.Metrics.Keys).Distinct().Order(metricOrder).ToList();
            metricsByDataset[dataset] = metrics;
            WarnOnDifferentDetails(dataset, ofDataset, metrics, notes);

            var groups = ofDataset.GroupBy(r => ResultsNaming.MethodKey(r.Report.Method)).OrderBy(g => g.Key, methodOrder);
            var datasetRows = new List<ResultsRow>();
            foreach (var group in groups)
            {
                var members = group.OrderBy(r => r.Report.Seed).ThenBy(r => r.RunDirectory, StringComparer.Ordinal).ToList();
                var label = $"{ResultsNaming.MethodDisplayName(group.Key)} on {dataset}";
                foreach (var repeated in members.GroupBy(r => r.Report.Seed).Where(g => g.Count() > 1))
                    notes.Add($"{label}: seed {repeated.Key} appears in {repeated.Count()} runs ({string.Join(", ", repeated.Select(r => r.RunDirectory))}); each counts as one sample");

                var cells = new Dictionary<string, ResultsCell>(StringComparer.Ordinal);
                foreach (var metric in metrics)
                {
                    var measured = members.Where(r => r.Report.Metrics.ContainsKey(metric)).ToList();
                    if (measured.Count == 0) continue;
                    if (measured.Count < members.Count)
                        notes.Add($"{label}: {metric} in {measured.Count} of {members.Count} runs (missing in {string.Join(", ", members.Except(measured).Select(r => r.RunDirectory))})");
                    cells[metric] = ResultsCell.Of(metric, measured.Select(r => r.Report.Metrics[metric]).ToList());
                }

                var parameters = members.Select(r => r.Report.TrainableParameters).ToList();
                datasetRows.Add(new ResultsRow
                {
                    Method = group.Key,
                    Dataset = dataset,
                    Seeds = members.Select(r => r.Report.Seed).ToList(),
                    Runs = members.Select(r => r.RunDirectory).ToList(),
                    Metrics = cells,
                    TrainableParameters = ResultsCell.Of("trainable-parameters", parameters.Select(p => (double)p).ToList()),
                    TrainableParametersMin = parameters.Min(),
                    TrainableParametersMax = parameters.Max(),
                    TotalRank = ResultsCell.Of("total-rank", members.Select(r => (double)r.Report.TotalRank).ToList()),
                });
            }
            rows.AddRange(MarkBest(datasetRows, metrics));
        }
        return new ResultsTable(rows, datasets, metricsByDataset, notes, split);
    }

    /// <summary>Marks the best mean per metric among the rows that have it (ties all marked); needs two rows to compare.</summary>
    static List<ResultsRow> MarkBest(List<ResultsRow> rows, IReadOnlyList<string> metrics)
    {
        var marked = rows.Select(r => new Dictionary<string, ResultsCell>(r.Metrics, StringComparer.Ordinal)).ToList();
        foreach (var metric in metrics)
        {
            var direction = ResultsNaming.Direction(metric);
            if (direction == MetricDirection.Unknown) continue;
            var having = Enumerable.Range(0, rows.Count).Where(i => marked[i].ContainsKey(metric)).ToList();
            if (having.Count < 2) continue;
            var means = having.Select(i => marked[i][metric].Mean).ToList();
            var best = direction == MetricDirection.LowerIsBetter ? means.Min() : means.Max();
            foreach (var i in having.Where(i => marked[i][metric].Mean == best))
                marked[i][metric] = marked[i][metric] with { Best = true };
        }
        return rows.Select((r, i) => r with { Metrics = marked[i] }).ToList();
    }

    static void WarnOnDifferentDetails(string dataset, List<ResultsRun> runs, IReadOnlyList<string> metrics, List<string> notes)
    {
        foreach (var metric in metrics)
        {
            var variants = runs.Where(r => r.Report.Metrics.ContainsKey(metric))
                .GroupBy(r => r.Report.Details.GetValueOrDefault(metric, ""))
                .ToList();
            if (variants.Count < 2) continue;
            var described = variants.Select(v =>
                $"'{(v.Key.Length == 0 ? "no details" : v.Key)}' ({string.Join(", ", v.Select(r => r.RunDirectory))})");
            notes.Add($"{dataset}, {metric}: runs measured it differently, so their values may not be comparable: {string.Join("; ", described)}");
        }
    }

    // ---- CSV ----

    /// <summary>
    /// One line per (method, dataset): method, dataset, n, seeds, trainable parameters (mean, min, max), total rank
    /// (mean, std), then per metric &lt;metric&gt;_mean, &lt;metric&gt;_std, &lt;metric&gt;_n, &lt;metric&gt;_best.
    /// Invariant culture, round-trip numbers; empty fields where a row lacks a metric or has one seed (std).
    /// </summary>
    public string ToCsv()
    {
        var metrics = Metrics;
        var header = new List<string>
        {
            "method", "dataset", "n", "seeds", "trainable_parameters_mean", "trainable_parameters_min", "trainable_parameters_max",
            "total_rank_mean", "total_rank_std",
        };
        foreach (var metric in metrics) header.AddRange([$"{metric}_mean", $"{metric}_std", $"{metric}_n", $"{metric}_best"]);
        var text = new StringBuilder();
        text.Append(string.Join(",", header.Select(Csv))).Append('\n');
        foreach (var row in Rows)
        {
            var fields = new List<string>
            {
                row.Method, row.Dataset, Int(row.N), string.Join(" ", row.Seeds.Select(s => s.ToString(CultureInfo.InvariantCulture))),
                Real(row.TrainableParameters.Mean), Int(row.TrainableParametersMin), Int(row.TrainableParametersMax),
                Real(row.TotalRank.Mean), row.TotalRank.Std is { } rs ? Real(rs) : "",
            };
            foreach (var metric in metrics)
            {
                if (row.Metrics.TryGetValue(metric, out var cell))
                    fields.AddRange([Real(cell.Mean), cell.Std is { } s ? Real(s) : "", Int(cell.N), cell.Best ? "true" : "false"]);
                else fields.AddRange(["", "", "", ""]);
            }
            text.Append(string.Join(",", fields.Select(Csv))).Append('\n');
        }
        return text.ToString();
    }

    public void WriteCsv(string path) => WriteText(path, ToCsv());

    // ---- Markdown ----

    /// <summary>
    /// Table 1's layout: methods as rows, each dataset's metrics as columns ("12.34 ± 0.56", best in bold), then a
    /// table of trainable parameters, final total rank and seeds, and the warnings as notes.
    /// </summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var columns = Datasets.SelectMany(d => MetricsByDataset[d].Select(m => (Dataset: d, Metric: m))).ToList();
        text.Append("| Method | ").Append(string.Join(" | ", columns.Select(c => Escape($"{c.Dataset} {ResultsNaming.MetricHeader(c.Metric)}")))).Append(" |\n");
        text.Append("| --- |").Append(string.Concat(columns.Select(_ => " ---: |"))).Append('\n');
        foreach (var method in Methods)
        {
            text.Append("| ").Append(Escape(ResultsNaming.MethodDisplayName(method))).Append(" |");
            foreach (var (dataset, metric) in columns)
            {
                var cell = Row(method, dataset)?.Metrics.GetValueOrDefault(metric);
                text.Append(' ').Append(cell is null ? "–" : cell.Best ? $"**{cell.Format()}**" : cell.Format()).Append(" |");
            }
            text.Append('\n');
        }

        text.Append('\n');
        text.Append(Split == ResultsLoader.Test ? "Final test evaluations" : "Validation evaluations (best step)");
        text.Append("; mean ± sample standard deviation over seeds; ↓ lower is better, ↑ higher is better; **bold**: best per dataset.\n\n");

        text.Append("| Method | Dataset | Trainable parameters | Final total rank | Seeds |\n");
        text.Append("| --- | --- | ---: | ---: | --- |\n");
        foreach (var row in Rows)
            text.Append($"| {Escape(row.MethodName)} | {Escape(row.Dataset)} | {ParametersText(row)} | {row.TotalRank.Format(1)} | {SeedsText(row)} |\n");

        if (Warnings.Count > 0)
        {
            text.Append("\nWarnings:\n\n");
            foreach (var warning in Warnings) text.Append("- ").Append(warning.Replace("\n", " ")).Append('\n');
        }
        return text.ToString();
    }

    public void WriteMarkdown(string path) => WriteText(path, ToMarkdown());

    /// <summary>"475,904", or "475,904 (differs by seed: 470,000–480,000)".</summary>
    public static string ParametersText(ResultsRow row)
    {
        var mean = row.TrainableParameters.Mean.ToString("N0", CultureInfo.InvariantCulture);
        return row.TrainableParametersDiffer
            ? $"{mean} (differs by seed: {row.TrainableParametersMin.ToString("N0", CultureInfo.InvariantCulture)}–{row.TrainableParametersMax.ToString("N0", CultureInfo.InvariantCulture)})"
            : mean;
    }

    /// <summary>"3 (0, 1, 2)".</summary>
    public static string SeedsText(ResultsRow row) =>
        $"{row.N} ({string.Join(", ", row.Seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)))})";

    static string Escape(string text) => text.Replace("|", "\\|");

    static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    static string Real(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;

    static void WriteText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(temp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, full, overwrite: true);
    }
}
