using SeLoRA.Adapters.Reporting;
using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Tests.Runs;

public sealed class SummaryMarkdownTests : TempFolder
{
    static RunSummary Summary(int expansions = 30) => new()
    {
        RunName = "selora-seed7",
        Method = "selora",
        ConfigHash = "sha256:abc123",
        BaseModel = "/models/sd15",
        BaseModelHash = "sha256:def456",
        Dataset = "synth-cxr:/data/synth",
        TrainCount = 800,
        ValidCount = 160,
        TestCount = 40,
        Seed = 7,
        Steps = 1000,
        Epochs = 10,
        BatchSize = 8,
        WallSeconds = 3725,
        ImagesPerSecond = 2.15,
        ValidationLossBefore = 0.2143,
        ValidationLossBest = 0.1612,
        BestStep = 700,
        ValidationLossFinal = 0.1650,
        TrainableParametersStart = 475904,
        TrainableParametersEnd = 612000,
        TotalRankStart = 120,
        TotalRankEnd = 150,
        Expansions = Enumerable.Range(0, expansions).Select(i => new RankChange(40 * (i + 1), $"text_model.encoder.layers.{i % 12}.self_attn.q_proj", 1 + i / 12, 2 + i / 12)).ToList(),
        RankGroups =
        [
            new RankSummaryRow(ModelComponent.TextEncoder, LayerKind.Q, AttentionRole.Self, 12, 3.5, 1, 6, 100000),
            new RankSummaryRow(ModelComponent.TextEncoder, LayerKind.V, AttentionRole.Self, 12, 1.0, 1, 1, 20000),
            new RankSummaryRow(ModelComponent.Unet, LayerKind.K, AttentionRole.Cross, 16, 2.25, 1, 4, 300000),
            new RankSummaryRow(ModelComponent.Unet, LayerKind.FF, AttentionRole.None, 16, 1.0, 1, 1, 50000),
        ],
        Artefacts = new Dictionary<string, string>
        {
            ["loss curve"] = "plots/loss.png",
            ["rank heat map"] = "plots/ranks.png",
            ["comparison grid"] = "samples/grid.png",
            ["best adapters"] = "checkpoints/best/adapter_model.safetensors",
            ["metrics"] = "metrics.jsonl",
        },
        Resumes = [400, 820],
        Completed = true,
        Notes = ["validation used 160 images"],
        RunDirectory = "/runs/selora-seed7",
    };

    [Fact]
    public void The_page_has_the_figures_tables_links_and_resumes()
    {
        var path = Path.Combine(Folder, "run", "summary.md");
        SummaryMarkdown.Write(Summary(), path);
        var md = File.ReadAllText(path);

        Assert.StartsWith("# selora-seed7 (SeLoRA)", md);
        Assert.Contains("SeLoRA grew 12 of 56 layers from rank 1", md);
        Assert.Contains("0.2143 before training -> 0.1612 best (step 700) -> 0.1650 at the end", md);
        Assert.Contains("| total rank | 120 -> 150 |", md);
        Assert.Contains("| trainable parameters | 475904 -> 612000 |", md);
        Assert.Contains("| training time | 1 h 02 min |", md);
        Assert.Contains("sha256:abc123", md);
        Assert.Contains("| text_encoder | q | self | 12 | 3.50 | 1 | 6 | 100000 |", md);
        Assert.Contains("| unet | k | cross | 16 | 2.25 | 1 | 4 | 300000 |", md);
        Assert.Contains("| 40 | `text_model.encoder.layers.0.self_attn.q_proj` | 1 -> 2 |", md);
        Assert.Contains("... and 10 more.", md);
        Assert.Contains("![loss curve](plots/loss.png)", md);
        Assert.Contains("![comparison grid](samples/grid.png)", md);
        Assert.Contains("[best adapters](checkpoints/best/adapter_model.safetensors)", md);
        Assert.Contains("[metrics](metrics.jsonl)", md);
        Assert.Contains("at steps 400, 820", md);
        Assert.Contains("validation used 160 images", md);
        Assert.DoesNotContain("Incomplete", md);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temp file left
    }

    [Fact]
    public void A_run_without_changes_validations_or_resumes_reads_plainly()
    {
        var s = Summary(0) with
        {
            Method = "lora", ValidationLossBefore = null, ValidationLossBest = null, BestStep = null, ValidationLossFinal = null,
            Resumes = [], Completed = false, TotalRankEnd = 120, Artefacts = new Dictionary<string, string> { ["grid"] = "my samples/grid (1).png" },
        };
        var md = SummaryMarkdown.Render(s);
        Assert.Contains("Ranks stayed fixed (total rank 120 over 56 layers)", md);
        Assert.Contains("No validation loss was measured.", md);
        Assert.Contains("None: the run trained in one session.", md);
        Assert.Contains("None: every layer kept its initial rank.", md);
        Assert.Contains("**Incomplete:**", md);
        Assert.Contains("![grid](my%20samples/grid%20%281%29.png)", md);
    }

    [Fact]
    public void Console_lines_give_the_losses_ranks_and_where_the_files_are()
    {
        var lines = SummaryMarkdown.ConsoleLines(Summary());
        var text = string.Join("\n", lines);

        Assert.InRange(lines.Count, 8, 15);
        Assert.Contains("0.2143", text);
        Assert.Contains("0.1612", text);
        Assert.Contains("0.1650", text);
        Assert.Contains("Total rank 120 -> 150", text);
        Assert.Contains(Path.Combine("/runs/selora-seed7", "plots/loss.png"), text);
        Assert.Contains(Path.Combine("/runs/selora-seed7", "samples/grid.png"), text);
        Assert.Contains(Path.Combine("/runs/selora-seed7", "summary.md"), text);
        Assert.Contains(lines, l => l.Contains("text_encoder self-attention") && l.Contains("q 3.50 (1-6)"));
        Assert.Contains(lines, l => l.Contains("unet cross-attention") && l.Contains("k 2.25 (1-4)"));
        // Images come before other files.
        Assert.True(text.IndexOf("plots/loss.png", StringComparison.Ordinal) < text.IndexOf("metrics.jsonl", StringComparison.Ordinal));
    }

    [Fact]
    public void Console_lines_stay_within_fifteen_with_many_artefacts()
    {
        var s = Summary() with
        {
            Artefacts = Enumerable.Range(0, 30).ToDictionary(i => $"image {i}", i => $"samples/{i}.png"),
            RunDirectory = null,
        };
        var lines = SummaryMarkdown.ConsoleLines(s);
        Assert.True(lines.Count <= 15, string.Join("\n", lines));
        Assert.Contains(lines, l => l.Contains("more file(s), listed in summary.md"));
        Assert.Equal("Summary: summary.md", lines[^1]);
    }
}
