using System.Globalization;
using SeLoRA.Evaluation.Reports;
using static SeLoRA.Evaluation.Tests.Reports.FakeRuns;

namespace SeLoRA.Evaluation.Tests.Reports;

public sealed class ResultsTableTests : IDisposable
{
    readonly FakeRuns _runs = new();

    public void Dispose() => _runs.Dispose();

    ResultsTable Load(string split = "test")
    {
        var load = ResultsLoader.Load(ResultsLoader.FindRunDirectories([_runs.Root]), split);
        return ResultsTable.Build(load, split);
    }

    /// <summary>3 seeds x 2 methods on one dataset: LoRA FID 1, 2, 3 (2 ± 1); SeLoRA FID 0.5, 0.5, 2 (1 ± sqrt(0.75)).</summary>
    void ThreeSeedsTwoMethods(string dataset = "iu-xray")
    {
        double[] loraFid = [1, 2, 3], loraClip = [10, 12, 17], seloraFid = [0.5, 0.5, 2], seloraClip = [11, 11, 11];
        for (var s = 0; s < 3; s++)
        {
            _runs.AddReport($"lora-{dataset}-{s}", "lora", dataset, s, Metrics(("fid", loraFid[s]), ("clip-score", loraClip[s])), trainable: 3000, rank: 48);
            _runs.AddReport($"selora-{dataset}-{s}", "selora", dataset, s, Metrics(("fid", seloraFid[s]), ("clip-score", seloraClip[s])),
                trainable: 1000 + 100 * s, rank: 20 + 2 * s);
        }
    }

    [Fact]
    public void Mean_and_sample_std_over_seeds_match_hand_computation()
    {
        ThreeSeedsTwoMethods();
        var table = Load();
        var lora = table.Row("lora", "iu-xray")!;
        Assert.Equal(3, lora.N);
        Assert.Equal([0L, 1L, 2L], lora.Seeds);
        Assert.Equal(2.0, lora.Metrics["fid"].Mean, 12);
        Assert.Equal(1.0, lora.Metrics["fid"].Std!.Value, 12);
        // clip 10, 12, 17: mean 13, squares 9 + 1 + 16 = 26, / (3 - 1) = 13.
        Assert.Equal(13.0, lora.Metrics["clip-score"].Mean, 12);
        Assert.Equal(Math.Sqrt(13), lora.Metrics["clip-score"].Std!.Value, 12);
        Assert.Equal("2.00 ± 1.00", lora.Metrics["fid"].Format());

        var selora = table.Row("SeLoRA", "iu-xray")!;
        // 0.5, 0.5, 2: mean 1, squares 0.25 + 0.25 + 1 = 1.5, / 2 = 0.75.
        Assert.Equal(1.0, selora.Metrics["fid"].Mean, 12);
        Assert.Equal(Math.Sqrt(0.75), selora.Metrics["fid"].Std!.Value, 12);
        Assert.Equal(0.0, selora.Metrics["clip-score"].Std!.Value, 12);
        // Parameters 1000, 1100, 1200 and ranks 20, 22, 24.
        Assert.Equal(1100, selora.TrainableParameters.Mean, 12);
        Assert.True(selora.TrainableParametersDiffer);
        Assert.Equal("1,100 (differs by seed: 1,000–1,200)", ResultsTable.ParametersText(selora));
        Assert.Equal(22, selora.TotalRank.Mean, 12);
        Assert.Equal(2, selora.TotalRank.Std!.Value, 12);
        Assert.False(lora.TrainableParametersDiffer);
        Assert.Equal("3,000", ResultsTable.ParametersText(lora));
        Assert.Empty(table.Warnings);
    }

    [Fact]
    public void One_seed_has_no_std_and_says_n_1()
    {
        _runs.AddReport("lora-0", "lora", "montgomery", 7, Metrics(("fid", 205.5)));
        var table = Load();
        var cell = table.Row("lora", "montgomery")!.Metrics["fid"];
        Assert.Equal(1, cell.N);
        Assert.Null(cell.Std);
        Assert.Equal("205.50 (n=1)", cell.Format());
        Assert.False(cell.Best);
        Assert.Contains("| LoRA | 205.50 (n=1) |", table.ToMarkdown());
        var csv = ParseCsv(table.ToCsv());
        Assert.Equal("", csv[1][csv[0].IndexOf("fid_std")]);
        Assert.Equal("1", csv[1][csv[0].IndexOf("fid_n")]);
    }

    [Fact]
    public void Different_metric_names_are_never_merged_and_different_details_are_warned()
    {
        _runs.AddReport("lora-0", "lora", "iu-xray", 0, Metrics(("fid", 100)), details: new Dictionary<string, string> { ["fid"] = "InceptionV3, bilinear 299" });
        _runs.AddReport("lora-1", "lora", "iu-xray", 1, Metrics(("fd-resnet18", 40)));
        _runs.AddReport("lora-2", "lora", "iu-xray", 2, Metrics(("fid", 120)), details: new Dictionary<string, string> { ["fid"] = "InceptionV3, bicubic 299" });
        var table = Load();
        var row = table.Row("lora", "iu-xray")!;
        Assert.Equal(2, row.Metrics["fid"].N);
        Assert.Equal(110, row.Metrics["fid"].Mean, 12);
        Assert.Equal(1, row.Metrics["fd-resnet18"].N);
        Assert.Equal(40, row.Metrics["fd-resnet18"].Mean, 12);
        Assert.Equal(["fid", "fd-resnet18"], table.MetricsByDataset["iu-xray"]);
        Assert.Contains(table.Warnings, w => w.Contains("fd-resnet18 in 1 of 3 runs") && w.Contains(_runs.RunDirectory("lora-0")));
        Assert.Contains(table.Warnings, w => w.Contains("iu-xray, fid: runs measured it differently")
                                             && w.Contains("bilinear") && w.Contains("bicubic"));
    }

    [Fact]
    public void Best_is_the_lowest_distance_and_the_highest_score_per_dataset()
    {
        // FID / FD lower is better, CLIP score / finding accuracy higher is better; two datasets judged separately.
        _runs.AddReport("lora-a", "lora", "a", 0, Metrics(("fid", 90), ("fd-resnet18", 5), ("clip-score", 26), ("finding-accuracy", 0.9)));
        _runs.AddReport("selora-a", "selora", "a", 0, Metrics(("fid", 100), ("fd-resnet18", 4), ("clip-score", 27), ("finding-accuracy", 0.8)));
        _runs.AddReport("lora-b", "lora", "b", 0, Metrics(("fid", 300), ("clip-score", 20)));
        _runs.AddReport("selora-b", "selora", "b", 0, Metrics(("fid", 200), ("clip-score", 19)));
        _runs.AddReport("dylora-b", "dylora", "b", 0, Metrics(("clip-score", 19.5)));
        var table = Load();
        bool Best(string method, string dataset, string metric) => table.Row(method, dataset)!.Metrics[metric].Best;
        Assert.True(Best("lora", "a", "fid"));
        Assert.False(Best("selora", "a", "fid"));
        Assert.True(Best("selora", "a", "fd-resnet18"));
        Assert.False(Best("lora", "a", "fd-resnet18"));
        Assert.True(Best("selora", "a", "clip-score"));
        Assert.False(Best("lora", "a", "clip-score"));
        Assert.True(Best("lora", "a", "finding-accuracy"));
        Assert.False(Best("selora", "a", "finding-accuracy"));
        Assert.True(Best("selora", "b", "fid"));
        Assert.False(Best("lora", "b", "fid"));
        Assert.True(Best("lora", "b", "clip-score"));
        Assert.False(Best("dylora", "b", "clip-score"));
        Assert.False(Best("selora", "b", "clip-score"));
        Assert.Equal(MetricDirection.LowerIsBetter, ResultsNaming.Direction("fd-dinov2"));
        Assert.Equal(MetricDirection.HigherIsBetter, ResultsNaming.Direction("finding-auc"));
        Assert.Equal(MetricDirection.Unknown, ResultsNaming.Direction("mystery"));
    }

    [Fact]
    public void Csv_parses_back_to_the_same_numbers_in_any_culture()
    {
        ThreeSeedsTwoMethods("iu-xray");
        _runs.AddReport("selora-m-0", "selora", "montgomery,cxr", 0, Metrics(("fid", 205.54)));
        var previous = CultureInfo.CurrentCulture;
        string text;
        ResultsTable table;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            table = Load();
            text = table.ToCsv();
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
        var rows = ParseCsv(text);
        var header = rows[0];
        Assert.Equal(["method", "dataset", "n", "seeds"], header.Take(4));
        Assert.Contains("fid_mean", header);
        Assert.Contains("clip-score_std", header);
        Assert.Equal(table.Rows.Count + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(header.Count, r.Count));
        foreach (var row in table.Rows)
        {
            var line = rows.Single(r => r[0] == row.Method && r[1] == row.Dataset);
            Assert.Equal(row.N.ToString(CultureInfo.InvariantCulture), line[2]);
            foreach (var (metric, cell) in row.Metrics)
            {
                Assert.Equal(cell.Mean, double.Parse(line[header.IndexOf($"{metric}_mean")], CultureInfo.InvariantCulture));
                if (cell.Std is { } std) Assert.Equal(std, double.Parse(line[header.IndexOf($"{metric}_std")], CultureInfo.InvariantCulture));
                Assert.Equal(cell.Best ? "true" : "false", line[header.IndexOf($"{metric}_best")]);
            }
        }
        var lora = rows.Single(r => r[0] == "lora");
        Assert.Equal(2.0, double.Parse(lora[header.IndexOf("fid_mean")], CultureInfo.InvariantCulture));
        Assert.Equal("0 1 2", lora[3]);
        // The comma in the dataset name is quoted, and the dataset lacks clip-score: empty fields.
        var montgomery = rows.Single(r => r[1] == "montgomery,cxr");
        Assert.Equal("", montgomery[header.IndexOf("clip-score_mean")]);
    }

    [Fact]
    public void Markdown_has_the_table_1_layout_in_the_paper_order()
    {
        ThreeSeedsTwoMethods("iu-xray");
        _runs.AddReport("adalora-0", "adalora", "iu-xray", 0, Metrics(("fid", 4), ("clip-score", 9)));
        _runs.AddReport("zeta-0", "zeta", "iu-xray", 0, Metrics(("fid", 5)));
        _runs.AddReport("dylora-0", "DyLoRA", "iu-xray", 0, Metrics(("fid", 6)));
        var markdown = Load().ToMarkdown();
        var lines = markdown.Split('\n');
        Assert.Equal("| Method | iu-xray FID ↓ | iu-xray CLIP Score ↑ |", lines[0]);
        Assert.Equal("| --- | ---: | ---: |", lines[1]);
        Assert.Equal("| LoRA | 2.00 ± 1.00 | **13.00 ± 3.61** |", lines[2]);
        Assert.Equal("| AdaLoRA | 4.00 (n=1) | 9.00 (n=1) |", lines[3]);
        Assert.Equal("| DyLoRA | 6.00 (n=1) | – |", lines[4]);
        Assert.Equal("| SeLoRA | **1.00 ± 0.87** | 11.00 ± 0.00 |", lines[5]);
        Assert.Equal("| zeta | 5.00 (n=1) | – |", lines[6]);
        Assert.Contains("| SeLoRA | iu-xray | 1,100 (differs by seed: 1,000–1,200) | 22.0 ± 2.0 | 3 (0, 1, 2) |", lines);
        Assert.Contains("| LoRA | iu-xray | 3,000 | 48.0 ± 0.0 | 3 (0, 1, 2) |", lines);
    }

    [Fact]
    public void Runs_without_a_final_test_report_are_warned_about_and_left_out()
    {
        ThreeSeedsTwoMethods();
        var unevaluated = _runs.AddUnevaluated("lora-iu-xray-3");
        var validOnly = _runs.AddReport("lora-iu-xray-4", "lora", "iu-xray", 4, Metrics(("fid", 1000)), final: false, split: "valid");
        var notFinal = _runs.AddReport("lora-iu-xray-5", "lora", "iu-xray", 5, Metrics(("fid", 1000)), final: false, split: "test");
        var table = Load();
        Assert.Equal(3, table.Row("lora", "iu-xray")!.N);
        Assert.Equal(2.0, table.Row("lora", "iu-xray")!.Metrics["fid"].Mean, 12);
        foreach (var run in new[] { unevaluated, validOnly, notFinal })
            Assert.Contains($"run {run} has no final test evaluation: run `selora eval --run {run}`", table.Warnings);
        Assert.Contains("run `selora eval --run", table.ToMarkdown());
    }

    [Fact]
    public void The_latest_final_test_report_wins_and_valid_takes_the_best_step()
    {
        var t0 = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        _runs.AddReport("r", "lora", "d", 0, Metrics(("fid", 50)), completed: t0.AddHours(2), checkpoint: "step-200", step: 200);
        _runs.AddReport("r", "lora", "d", 0, Metrics(("fid", 70)), completed: t0.AddHours(1), checkpoint: "step-100", step: 100);
        _runs.AddReport("r", "lora", "d", 0, Metrics(("fid", 90)), completed: t0.AddHours(3), final: false, checkpoint: "step-300", step: 300);
        _runs.AddReport("r", "lora", "d", 0, Metrics(("fid", 11), ("validation-loss", 0.3)), split: "valid", final: false, checkpoint: "step-100", step: 100);
        _runs.AddReport("r", "lora", "d", 0, Metrics(("fid", 12), ("validation-loss", 0.2)), split: "valid", final: false, checkpoint: "step-200", step: 200);
        var run = _runs.RunDirectory("r");
        var reports = ResultsLoader.ReadReports(run);
        Assert.Equal(5, reports.Count);
        Assert.Equal(50, ResultsLoader.Select(reports, "test")!.Metrics["fid"]);
        // Valid: the summary's best step when known, else the lowest validation loss.
        Assert.Equal(11, ResultsLoader.Select(reports, "valid", bestStep: 100)!.Metrics["fid"]);
        Assert.Equal(12, ResultsLoader.Select(reports, "valid")!.Metrics["fid"]);
        var load = ResultsLoader.Load([run], "valid", _ => new RunHints(BestStep: 100));
        Assert.Equal(11, ResultsTable.Build(load, "valid").Row("lora", "d")!.Metrics["fid"].Mean);
        Assert.Throws<ArgumentException>(() => ResultsLoader.Select(reports, "train"));
    }

    [Fact]
    public void Hints_fill_what_an_older_report_leaves_empty()
    {
        var run = _runs.AddReport("old", "", "", 0, Metrics(("fid", 1)), trainable: 0, rank: 0);
        var load = ResultsLoader.Load([run], "test", _ => new RunHints("selora", "iu-xray", 3, null, 475904, 206));
        var report = Assert.Single(load.Runs).Report;
        Assert.Equal(("selora", "iu-xray", 3L, 475904L, 206), (report.Method, report.Dataset, report.Seed, report.TrainableParameters, report.TotalRank));
        var bare = ResultsLoader.Load([run]);
        Assert.Equal("unknown", Assert.Single(bare.Runs).Report.Method);
        Assert.Contains(bare.Warnings, w => w.Contains("names no method"));
    }

    [Fact]
    public void Run_folders_are_found_and_bad_paths_are_named()
    {
        var a = _runs.AddReport("a", "lora", "d", 0, Metrics(("fid", 1)));
        var b = _runs.AddUnevaluated("b");
        Directory.CreateDirectory(Path.Combine(_runs.Root, "not-a-run"));
        Assert.Equal([a, b], ResultsLoader.FindRunDirectories([_runs.Root]));
        Assert.Equal([b, a], ResultsLoader.FindRunDirectories([b, a, _runs.Root]));
        var missing = Path.Combine(_runs.Root, "nope");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => ResultsLoader.FindRunDirectories([missing])).Message);
        var empty = Path.Combine(_runs.Root, "not-a-run");
        Assert.Contains(empty, Assert.Throws<InvalidDataException>(() => ResultsLoader.FindRunDirectories([empty])).Message);
        File.WriteAllText(Path.Combine(a, "evaluations", "broken-test.json"), "{ not json");
        Assert.Contains("broken-test.json", Assert.Throws<InvalidDataException>(() => ResultsLoader.ReadReports(a)).Message);
    }

    [Fact]
    public void Repeated_seeds_are_warned_about()
    {
        _runs.AddReport("x", "lora", "d", 1, Metrics(("fid", 1)));
        _runs.AddReport("y", "lora", "d", 1, Metrics(("fid", 3)));
        var table = Load();
        Assert.Equal(2, table.Row("lora", "d")!.N);
        Assert.Contains(table.Warnings, w => w.Contains("seed 1 appears in 2 runs"));
    }

    /// <summary>RFC 4180 reader, written independently of the writer.</summary>
    internal static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add(row); row = []; }
            else if (c != '\r') field.Append(c);
        }
        if (field.Length > 0 || row.Count > 0) { row.Add(field.ToString()); rows.Add(row); }
        return rows;
    }
}
