using System.CommandLine;
using SeLoRA.Evaluation.Reports;
using SeLoRA.Training.Runs;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>
/// `selora results`: the paper's Table 1 from run folders' evaluation reports (mean ± std over seeds, best marked), as a
/// terminal table, CSV or Markdown, and with --out also results.csv, results.md and a real/generated grid per dataset.
/// Warnings (runs without a final test evaluation, metrics measured differently) go to stderr.
/// </summary>
public static class ResultsCommand
{
    public static readonly string[] Formats = ["table", "csv", "markdown"];

    public static Command Create(IAnsiConsole console)
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Run folders (with summary.json or evaluations/), or folders whose subfolders are runs.",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format", "-f") { Description = $"Output: {string.Join(", ", Formats)}.", DefaultValueFactory = _ => "table" };
        var output = new Option<string?>("--out", "-o") { Description = "Also write results.csv, results.md and results-grid-<dataset>.png to this folder." };
        var split = new Option<string>("--split")
        {
            Description = "test: each run's final test evaluation; valid: its valid evaluation of the best step.",
            DefaultValueFactory = _ => ResultsLoader.Test,
        };
        var gridPrompts = new Option<int>("--grid-prompts") { Description = "Prompts (rows) per grid with --out; 0: no grid.", DefaultValueFactory = _ => 4 };
        var command = new Command("results",
            "Tabulate evaluated runs as the SeLoRA paper's Table 1: per method and dataset, each metric's mean ± std over seeds, trainable parameters and final rank.");
        command.Arguments.Add(paths);
        foreach (var option in new Option[] { format, output, split, gridPrompts }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var formatName = parse.GetValue(format)!.ToLowerInvariant();
            if (!Formats.Contains(formatName)) throw new UsageException($"--format {formatName}: expected one of {string.Join(", ", Formats)}.");
            var splitName = parse.GetValue(split)!.ToLowerInvariant();
            if (splitName is not (ResultsLoader.Test or ResultsLoader.Valid)) throw new UsageException($"--split {splitName}: expected test or valid.");
            var prompts = parse.GetValue(gridPrompts);
            if (prompts < 0) throw new UsageException($"--grid-prompts {prompts}: must be 0 or more.");
            var given = parse.GetValue(paths) ?? [];

            var runs = ResultsLoader.FindRunDirectories(given);
            var hintWarnings = new List<string>();
            var load = ResultsLoader.Load(runs, splitName, run => Hints(run, hintWarnings));
            var table = ResultsTable.Build(load.Runs, [.. hintWarnings, .. load.Warnings], splitName);
            var warnings = new List<string>(table.Warnings);
            var written = new List<string>();
            if (table.Rows.Count > 0 && parse.GetValue(output) is { } folder)
            {
                var csvPath = Path.Combine(folder, "results.csv");
                var markdownPath = Path.Combine(folder, "results.md");
                table.WriteCsv(csvPath);
                table.WriteMarkdown(markdownPath);
                written.AddRange([csvPath, markdownPath]);
                if (prompts > 0)
                {
                    var (images, gridWarnings) = ResultsGrid.SaveAll(load.Runs, folder, prompts);
                    warnings.AddRange(gridWarnings);
                    written.AddRange(images.Select(i => $"{i.Path} ({i.Rows} prompts x {i.Columns} columns)"));
                }
            }

            foreach (var warning in warnings) Console.Error.WriteLine($"warning: {warning}");
            if (table.Rows.Count == 0)
                throw new UsageException(
                    $"no run under {string.Join(", ", given)} has a {(splitName == ResultsLoader.Test ? "final test" : "valid")} evaluation to tabulate ({runs.Count} run folders looked at).");

            var writer = console.Profile.Out.Writer;
            switch (formatName)
            {
                case "csv":
                    writer.Write(table.ToCsv());
                    break;
                case "markdown":
                    writer.Write(table.ToMarkdown());
                    break;
                default:
                    WriteTables(console, table);
                    break;
            }
            // Keep stdout machine-readable for csv and markdown.
            var info = formatName == "table" ? writer : Console.Error;
            foreach (var path in written) info.WriteLine($"wrote {path}");
            return 0;
        }));
        return command;
    }

    /// <summary>summary.json fills what older reports leave empty and gives the best step; unreadable, it is a warning.</summary>
    static RunHints? Hints(string run, List<string> warnings)
    {
        var path = Path.Combine(run, ResultsLoader.SummaryFile);
        if (!File.Exists(path)) return null;
        try
        {
            var summary = RunSummary.ReadJson(path);
            return new RunHints(summary.Method, summary.Dataset, summary.Seed, summary.BestStep, summary.TrainableParametersEnd, summary.TotalRankEnd);
        }
        catch (InvalidDataException e)
        {
            warnings.Add($"{e.Message}; using the evaluation reports alone");
            return null;
        }
    }

    /// <summary>One table per dataset: methods as rows, metrics, parameters, rank and seeds as columns; best in bold green.</summary>
    static void WriteTables(IAnsiConsole console, ResultsTable table)
    {
        foreach (var dataset in table.Datasets)
        {
            var metrics = table.MetricsByDataset[dataset];
            var grid = new Table().Title(Markup.Escape(dataset)).Border(TableBorder.Rounded);
            grid.AddColumn("Method");
            foreach (var metric in metrics) grid.AddColumn(new TableColumn(Markup.Escape(ResultsNaming.MetricHeader(metric))).RightAligned());
            grid.AddColumn(new TableColumn("Trainable parameters").RightAligned());
            grid.AddColumn(new TableColumn("Final total rank").RightAligned());
            grid.AddColumn("Seeds");
            foreach (var row in table.Rows.Where(r => r.Dataset == dataset))
            {
                var cells = new List<string> { Markup.Escape(row.MethodName) };
                foreach (var metric in metrics)
                {
                    var cell = row.Metrics.GetValueOrDefault(metric);
                    cells.Add(cell is null ? "–" : cell.Best ? $"[bold green]{Markup.Escape(cell.Format())}[/]" : Markup.Escape(cell.Format()));
                }
                cells.Add(Markup.Escape(ResultsTable.ParametersText(row)));
                cells.Add(Markup.Escape(row.TotalRank.Format(1)));
                cells.Add(Markup.Escape(ResultsTable.SeedsText(row)));
                grid.AddRow(cells.ToArray());
            }
            console.Write(grid);
        }
        console.MarkupLine(Markup.Escape(
            $"{(table.Split == ResultsLoader.Test ? "Final test evaluations" : "Validation evaluations (best step)")}: mean ± sample std over seeds; ↓ lower is better, ↑ higher is better; best per dataset in bold."));
    }
}
