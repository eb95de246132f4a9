using System.Globalization;
using System.Text;
using SeLoRA.Adapters.Reporting;

namespace SeLoRA.Training.Runs;

/// <summary>The run's summary.md (what happened, key figures, ranks, expansions, artefacts, resumes, how to reproduce) and the lines printed at the end of a run.</summary>
public static class SummaryMarkdown
{
    public const int ExpansionsShown = 20;
    const int MaxConsoleLines = 15;

    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"];
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the page atomically (temp file, then rename), creating the folder.</summary>
    public static void Write(RunSummary s, string path)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.WriteAllText(path, Render(s));
    }

    public static string Render(RunSummary s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var md = new StringBuilder();
        md.Append("# ").Append(Escape(s.RunName)).Append(" (").Append(MethodLabel(s.Method)).AppendLine(")").AppendLine();
        if (!s.Completed) md.AppendLine("> **Incomplete:** the run stopped before its last step; resume it from its latest checkpoint.").AppendLine();

        md.AppendLine("## What happened").AppendLine();
        md.AppendLine(WhatHappened(s)).AppendLine();

        md.AppendLine("## Key figures").AppendLine();
        md.AppendLine("| figure | value |").AppendLine("| --- | --- |");
        void Row(string figure, string value) => md.Append("| ").Append(figure).Append(" | ").Append(value).AppendLine(" |");
        Row("method", MethodLabel(s.Method));
        Row("base model", Code(s.BaseModel) + (s.BaseModelHash.Length > 0 ? " (" + Code(s.BaseModelHash) + ")" : ""));
        Row("dataset", Code(s.Dataset));
        Row("images (train / validation / test)", $"{Int(s.TrainCount)} / {Int(s.ValidCount)} / {Int(s.TestCount)}");
        Row("seed", Int(s.Seed));
        Row("steps", Int(s.Steps));
        Row("epochs", Int(s.Epochs));
        Row("batch size", Int(s.BatchSize));
        Row("training time", Duration(s.WallSeconds));
        Row("throughput", string.Create(Inv, $"{s.ImagesPerSecond:0.##} images/s"));
        Row("validation loss before", Loss(s.ValidationLossBefore));
        Row("validation loss best", Loss(s.ValidationLossBest) + (s.BestStep is { } b ? $" (step {Int(b)})" : ""));
        Row("validation loss final", Loss(s.ValidationLossFinal));
        Row("trainable parameters", $"{Int(s.TrainableParametersStart)} -> {Int(s.TrainableParametersEnd)}");
        Row("total rank", $"{Int(s.TotalRankStart)} -> {Int(s.TotalRankEnd)}");
        Row("rank changes", Int(s.Expansions.Count));
        Row("completed", s.Completed ? "yes" : "no");
        Row("config hash", Code(s.ConfigHash));
        md.AppendLine();

        md.AppendLine("## Ranks per layer group").AppendLine();
        if (s.RankGroups.Count == 0) md.AppendLine("No rank report.").AppendLine();
        else
        {
            md.AppendLine("| component | kind | attention | layers | mean rank | min | max | trainable params |");
            md.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in s.RankGroups)
                md.AppendLine(string.Create(Inv,
                    $"| {LayerClassifier.ComponentLabel(g.Component)} | {LayerClassifier.KindLabel(g.Kind)} | {AttentionLabel(g.Attention)} | {g.Layers} | {g.MeanRank:0.00} | {g.MinRank} | {g.MaxRank} | {Int(g.TrainableParameters)} |"));
            md.AppendLine();
        }

        md.AppendLine("## Rank changes").AppendLine();
        if (s.Expansions.Count == 0) md.AppendLine("None: every layer kept its initial rank.").AppendLine();
        else
        {
            md.AppendLine("| step | layer | rank |").AppendLine("| ---: | --- | --- |");
            foreach (var e in s.Expansions.Take(ExpansionsShown))
                md.AppendLine($"| {Int(e.Step)} | {Code(e.Layer)} | {Int(e.OldRank)} -> {Int(e.NewRank)} |");
            md.AppendLine();
            if (s.Expansions.Count > ExpansionsShown) md.AppendLine($"... and {Int(s.Expansions.Count - ExpansionsShown)} more.").AppendLine();
        }

        md.AppendLine("## Artefacts").AppendLine();
        if (s.Artefacts.Count == 0) md.AppendLine("None recorded.").AppendLine();
        else
        {
            var files = s.Artefacts.Where(a => !IsImage(a.Value)).ToList();
            foreach (var (label, path) in files) md.AppendLine($"- [{Escape(label)}]({Link(path)}) ({Code(Slashes(path))})");
            if (files.Count > 0) md.AppendLine();
            foreach (var (label, path) in s.Artefacts.Where(a => IsImage(a.Value)))
                md.AppendLine($"### {Escape(label)}").AppendLine().AppendLine($"![{Escape(label)}]({Link(path)})").AppendLine();
        }

        md.AppendLine("## Resumes").AppendLine();
        md.AppendLine(s.Resumes.Count == 0
            ? "None: the run trained in one session."
            : $"Resumed {Times(s.Resumes.Count)} from a checkpoint, at step{(s.Resumes.Count == 1 ? "" : "s")} {string.Join(", ", s.Resumes.Select(Int))}.").AppendLine();

        if (s.Notes.Count > 0)
        {
            md.AppendLine("## Notes").AppendLine();
            foreach (var note in s.Notes) md.AppendLine("- " + note);
            md.AppendLine();
        }

        md.AppendLine("## Reproducing").AppendLine();
        md.AppendLine($"- Train again with the same configuration (hash {Code(s.ConfigHash)}), seed {Int(s.Seed)}, base model {Code(s.BaseModel)}"
            + (s.BaseModelHash.Length > 0 ? $" with hash {Code(s.BaseModelHash)}" : "") + $" and dataset {Code(s.Dataset)}.");
        md.AppendLine("- The seed fixes the adapters' initial draws, the split (unless the config sets its own split seed), the sample order and every per-sample draw.");
        md.AppendLine("- To continue an interrupted run, resume from its latest checkpoint; a configuration with a different hash is refused.");
        return md.ToString();
    }

    /// <summary>The plain lines a terminal shows at the end of a run (at most 15): outcome, validation losses, ranks per layer group, where the files are.</summary>
    public static IReadOnlyList<string> ConsoleLines(RunSummary s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var lines = new List<string>
        {
            string.Create(Inv, $"Run {s.RunName} ({MethodLabel(s.Method)}) {(s.Completed ? "finished" : "stopped before its last step")}: {Int(s.Steps)} steps, {Int(s.Epochs)} epoch{(s.Epochs == 1 ? "" : "s")}, {Duration(s.WallSeconds)}, {s.ImagesPerSecond:0.##} images/s."),
            ValidationSentence(s, console: true),
            $"Total rank {Int(s.TotalRankStart)} -> {Int(s.TotalRankEnd)} ({RankChangeCounts(s)}); trainable parameters {Int(s.TrainableParametersStart)} -> {Int(s.TrainableParametersEnd)}.",
        };
        if (s.RankGroups.Count > 0)
        {
            lines.Add("Ranks per layer group (mean, min-max):");
            foreach (var group in s.RankGroups.GroupBy(g => (g.Component, g.Attention)).OrderBy(g => g.Key.Component).ThenBy(g => g.Key.Attention))
            {
                var name = LayerClassifier.ComponentLabel(group.Key.Component) + group.Key.Attention switch
                {
                    AttentionRole.Self => " self-attention",
                    AttentionRole.Cross => " cross-attention",
                    _ => "",
                };
                lines.Add($"  {name}: " + string.Join(", ", group.Select(g => string.Create(Inv,
                    $"{LayerClassifier.KindLabel(g.Kind)} {g.MeanRank:0.00}{(g.MinRank == g.MaxRank ? "" : $" ({g.MinRank}-{g.MaxRank})")}"))));
            }
        }

        var summaryLine = "Summary: " + InRun(s, "summary.md");
        // Images first: they are what the user wants to look at.
        var artefacts = s.Artefacts.OrderBy(a => IsImage(a.Value) ? 0 : 1).ToList();
        var room = MaxConsoleLines - lines.Count - 1;
        var shown = artefacts.Count <= room ? artefacts.Count : Math.Max(0, room - 1);
        foreach (var (label, path) in artefacts.Take(shown)) lines.Add($"{Capitalise(label)}: {InRun(s, path)}");
        if (shown < artefacts.Count) lines.Add($"... and {artefacts.Count - shown} more file(s), listed in summary.md.");
        foreach (var note in s.Notes)
        {
            if (lines.Count >= MaxConsoleLines - 1) break;
            lines.Add("Note: " + note);
        }
        lines.Add(summaryLine);
        return lines;
    }

    static string WhatHappened(RunSummary s)
    {
        var sb = new StringBuilder();
        sb.Append($"{MethodLabel(s.Method)} adapters on {Code(Path.GetFileName(Path.TrimEndingDirectorySeparator(s.BaseModel)) is { Length: > 0 } name ? name : s.BaseModel)} ");
        sb.Append($"trained on {Int(s.TrainCount)} images of {Code(s.Dataset)} for {Int(s.Steps)} steps ({Int(s.Epochs)} epoch{(s.Epochs == 1 ? "" : "s")}, batch {Int(s.BatchSize)}) in {Duration(s.WallSeconds)}");
        sb.Append(s.Completed ? ". " : ", then stopped before the last step. ");
        sb.Append(RankSentence(s)).Append(' ');
        sb.Append(ValidationSentence(s, console: false));
        if (s.Resumes.Count > 0) sb.Append($" The run was resumed {Times(s.Resumes.Count)}.");
        return sb.ToString();
    }

    static string RankSentence(RunSummary s)
    {
        var layers = s.RankGroups.Sum(g => g.Layers);
        var ofLayers = layers > 0 ? $" of {Int(layers)}" : "";
        var grown = s.Expansions.Where(e => e.NewRank > e.OldRank).ToList();
        var shrunk = s.Expansions.Where(e => e.NewRank < e.OldRank).ToList();
        var totals = $"total rank {Int(s.TotalRankStart)} -> {Int(s.TotalRankEnd)}";
        string sentence;
        if (grown.Count > 0)
        {
            // The rank a layer started from: its first change's old rank; one common value is the method's r0.
            var starts = grown.GroupBy(e => e.Layer).Select(g => g.MinBy(e => e.Step)!.OldRank).Distinct().ToList();
            var from = starts.Count == 1 ? $" from rank {Int(starts[0])}" : "";
            var layersGrown = grown.Select(e => e.Layer).Distinct().Count();
            sentence = $"{MethodLabel(s.Method)} grew {Int(layersGrown)}{ofLayers} layers{from} ({totals}, {Int(grown.Count)} expansion{(grown.Count == 1 ? "" : "s")})";
            if (shrunk.Count > 0) sentence += $" and reduced {Int(shrunk.Select(e => e.Layer).Distinct().Count())} layer(s)";
        }
        else if (shrunk.Count > 0)
            sentence = $"{MethodLabel(s.Method)} reduced the rank of {Int(shrunk.Select(e => e.Layer).Distinct().Count())}{ofLayers} layers ({totals})";
        else
            sentence = $"Ranks stayed fixed (total rank {Int(s.TotalRankEnd)}{(layers > 0 ? $" over {Int(layers)} layers" : "")})";

        // Naming the highest group only says something when the groups differ.
        var top = s.RankGroups.MaxBy(g => g.MeanRank);
        if (top is not null && top.MeanRank > s.RankGroups.Min(g => g.MeanRank))
            sentence += string.Create(Inv, $"; the highest mean rank is in {GroupLabel(top)} ({top.MeanRank:0.00})");
        return sentence + ".";
    }

    static string ValidationSentence(RunSummary s, bool console)
    {
        if (s.ValidationLossBefore is null && s.ValidationLossBest is null && s.ValidationLossFinal is null)
            return "No validation loss was measured.";
        var parts = new List<string>();
        if (s.ValidationLossBefore is not null) parts.Add($"{Loss(s.ValidationLossBefore)} before training");
        if (s.ValidationLossBest is not null) parts.Add($"{Loss(s.ValidationLossBest)} best{(s.BestStep is { } b ? $" (step {Int(b)})" : "")}");
        if (s.ValidationLossFinal is not null && (s.ValidationLossFinal != s.ValidationLossBest || console)) parts.Add($"{Loss(s.ValidationLossFinal)} at the end");
        return (console ? "Validation loss: " : "Validation loss went ") + string.Join(" -> ", parts) + ".";
    }

    static string RankChangeCounts(RunSummary s)
    {
        if (s.Expansions.Count == 0) return "no rank changes";
        var layers = s.Expansions.Select(e => e.Layer).Distinct().Count();
        return $"{Int(s.Expansions.Count)} rank change{(s.Expansions.Count == 1 ? "" : "s")} in {Int(layers)} layer{(layers == 1 ? "" : "s")}";
    }

    static string GroupLabel(RankSummaryRow g) =>
        $"{LayerClassifier.ComponentLabel(g.Component)}{(g.Attention == AttentionRole.None ? "" : $" {AttentionLabel(g.Attention)}-attention")} {LayerClassifier.KindLabel(g.Kind)}";

    /// <summary>The user-facing spelling of the method names the config uses.</summary>
    public static string MethodLabel(string method) => method.Trim().ToLowerInvariant() switch
    {
        "selora" => "SeLoRA",
        "lora" => "LoRA",
        "adalora" => "AdaLoRA",
        "dylora" => "DyLoRA",
        _ => method,
    };

    static string AttentionLabel(AttentionRole role) => role switch
    {
        AttentionRole.Self => "self",
        AttentionRole.Cross => "cross",
        _ => "",
    };

    static bool IsImage(string path) => ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    static string InRun(RunSummary s, string relative) =>
        s.RunDirectory is { Length: > 0 } dir ? Path.Combine(dir, relative) : relative;

    static string Slashes(string path) => path.Replace('\\', '/');

    /// <summary>A relative link target: forward slashes, each segment percent-escaped (spaces, parentheses).</summary>
    static string Link(string path) =>
        string.Join('/', Slashes(path).Split('/').Select(seg => seg is "." or ".." ? seg : Uri.EscapeDataString(seg).Replace("(", "%28").Replace(")", "%29")));

    static string Code(string text) => text.Contains('`') ? "``" + text + "``" : "`" + text + "`";

    static string Escape(string text) => text.Replace("|", "\\|").Replace("[", "\\[").Replace("]", "\\]");

    static string Capitalise(string label) => label.Length == 0 ? label : char.ToUpperInvariant(label[0]) + label[1..];

    static string Times(int n) => n switch { 1 => "once", 2 => "twice", _ => $"{Int(n)} times" };

    static string Int(long value) => value.ToString(Inv);

    static string Loss(double? value) => value switch
    {
        null => "n/a",
        { } v when double.IsNaN(v) => "NaN",
        { } v => v.ToString("0.0000", Inv),
    };

    static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "n/a";
        if (seconds < 60) return seconds.ToString("0.0", Inv) + " s";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1
            ? string.Create(Inv, $"{(int)t.TotalHours} h {t.Minutes:00} min")
            : string.Create(Inv, $"{t.Minutes} min {t.Seconds:00} s");
    }
}
