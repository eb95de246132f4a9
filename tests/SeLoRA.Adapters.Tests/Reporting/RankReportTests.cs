using System.Text.RegularExpressions;
using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Reporting;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Reporting;

public sealed class RankReportTests
{
    // Hand count: q 3*(768+768) = 4608; fc1 2*(768+3072) = 7680; attn2.to_k 5*(768+320) = 5440;
    // time_emb_proj 1*(1280+320) = 1600; the mid attn1.to_v reports its own 99.
    static readonly AdaptedLayerInfo[] Small =
    [
        new("mid_block.attentions.0.transformer_blocks.0.attn1.to_v", 4, 1280, 1280, 99),
        new("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", 5, 768, 320),
        new("text_model.encoder.layers.0.mlp.fc1", 2, 768, 3072),
        new("down_blocks.0.resnets.0.time_emb_proj", 1, 1280, 320),
        new("text_model.encoder.layers.0.self_attn.q_proj", 3, 768, 768),
    ];

    [Fact]
    public void Table_rows_are_in_model_order_with_hand_counted_totals()
    {
        var report = RankReport.Create(Small);
        Assert.Equal(
        [
            "text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.0.mlp.fc1",
            "down_blocks.0.resnets.0.time_emb_proj", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k",
            "mid_block.attentions.0.transformer_blocks.0.attn1.to_v",
        ], report.Rows.Select(r => r.Name));
        Assert.Equal([4608L, 7680, 1600, 5440, 99], report.Rows.Select(r => r.TrainableParameters));
        Assert.Equal(new RankTotals(5, 15, 19427), report.Totals);
        Assert.Equal(new RankTotals(2, 5, 12288), report.TotalsFor(ModelComponent.TextEncoder));
        Assert.Equal(new RankTotals(3, 10, 7139), report.TotalsFor(ModelComponent.Unet));

        var table = report.ToTable();
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains("text_encoder: 2 layers, rank sum 5, mean rank 2.50, 12288 trainable params", lines);
        Assert.Contains("unet: 3 layers, rank sum 10, mean rank 3.33, 7139 trainable params", lines);
        Assert.Equal("total: 5 layers, rank sum 15, mean rank 3.00, 19427 trainable params", lines[^1]);

        // Header and rows: fixed-width columns, so every line has the same length and its cells parse back.
        var grid = new[] { lines[0] }.Concat(lines.Skip(2).Take(5)).ToList();
        Assert.Single(grid.Select(l => l.Length).Distinct());
        Assert.Equal(["layer", "component", "kind", "in", "out", "rank", "trainable params"], Regex.Split(lines[0], " {2,}"));
        Assert.Equal(["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", "unet", "k", "768", "320", "5", "5440"],
            Regex.Split(lines[5].Trim(), " {2,}"));
        var rankEnd = lines[0].IndexOf("rank", StringComparison.Ordinal) + 4;
        Assert.All(grid.Skip(1), l => Assert.True(char.IsDigit(l[rankEnd - 1]) && l[rankEnd] == ' ', l));
    }

    [Fact]
    public void Official_preset_has_the_paper_code_parameter_counts()
    {
        var one = RankReport.Create(Sd15Layers.OfficialPreset(_ => 1));
        Assert.Equal(new RankTotals(72, 72, 165_888), one.TotalsFor(ModelComponent.TextEncoder));
        Assert.Equal(new RankTotals(134, 134, 310_016), one.TotalsFor(ModelComponent.Unet));
        Assert.Equal(475_904, one.Totals.TrainableParameters);

        var four = RankReport.Create(Sd15Layers.OfficialPreset(_ => 4));
        Assert.Equal(4 * 475_904, four.Totals.TrainableParameters);
    }

    [Fact]
    public void Csv_parses_back()
    {
        var layers = Small.Append(new AdaptedLayerInfo("odd,\"name\".to_q", 2, 10, 20)).ToList();
        var report = RankReport.Create(layers);
        var csv = report.ToCsv();
        Assert.StartsWith("layer,component,kind,attention,position,in,out,rank,trainable_params", csv);
        Assert.Contains("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k,unet,k,cross,down_blocks.0.attentions.0.transformer_blocks.0.attn2,768,320,5,5440", csv);

        var path = Path.Combine(Path.GetTempPath(), $"selora-rank-report-{Guid.NewGuid():N}.csv");
        try
        {
            report.WriteCsv(path);
            var back = RankReport.ReadCsv(path);
            Assert.Equal(report.Rows.Select(r => (r.Name, r.Rank, r.InFeatures, r.OutFeatures, r.TrainableParameters, r.Classification)),
                back.Rows.Select(r => (r.Name, r.Rank, r.InFeatures, r.OutFeatures, r.TrainableParameters, r.Classification)));
            Assert.Equal(report.Totals, back.Totals);
            Assert.Equal(csv, back.ToCsv());
        }
        finally
        {
            File.Delete(path);
        }

        // Minimal CSV from elsewhere: only the required columns, CRLF line ends.
        var minimal = RankReport.ParseCsv("rank,layer,in,out\r\n3,text_model.encoder.layers.2.self_attn.k_proj,768,768\r\n");
        Assert.Equal(4608, minimal.Totals.TrainableParameters);
        Assert.Equal(2, minimal.Rows[0].Position.TextLayer);
    }

    [Fact]
    public void Csv_errors_name_the_problem()
    {
        var missing = Assert.Throws<FormatException>(() => RankReport.ParseCsv("layer,in,out\na,1,2\n", "ranks.csv"));
        Assert.Contains("ranks.csv", missing.Message);
        Assert.Contains("'rank'", missing.Message);
        var bad = Assert.Throws<FormatException>(() => RankReport.ParseCsv("layer,in,out,rank\na,1,2,x\n"));
        Assert.Contains("'rank' = 'x'", bad.Message);
        Assert.Throws<ArgumentException>(() => RankReport.Create([Small[0], Small[0]]));
        Assert.Throws<ArgumentException>(() => RankReport.Create([new AdaptedLayerInfo("a.to_q", -1, 4, 4)]));
    }

    [Fact]
    public void Summary_gives_mean_rank_by_component_kind_and_attention()
    {
        var summary = RankReport.Create(Small).Summary();
        Assert.Equal(
        [
            new RankSummaryRow(ModelComponent.TextEncoder, LayerKind.Q, AttentionRole.Self, 1, 3, 3, 3, 4608),
            new RankSummaryRow(ModelComponent.TextEncoder, LayerKind.FF, AttentionRole.None, 1, 2, 2, 2, 7680),
            new RankSummaryRow(ModelComponent.Unet, LayerKind.K, AttentionRole.Cross, 1, 5, 5, 5, 5440),
            new RankSummaryRow(ModelComponent.Unet, LayerKind.V, AttentionRole.Self, 1, 4, 4, 4, 99),
            new RankSummaryRow(ModelComponent.Unet, LayerKind.Time, AttentionRole.None, 1, 1, 1, 1, 1600),
        ], summary);

        // Ranks shaped like the paper's: the summary shows them on text q/k and UNet cross-attention q/k.
        var paper = RankReport.Create(Sd15Layers.OfficialPreset(Sd15Layers.PaperLikeRank));
        var rows = paper.Summary();
        double Mean(ModelComponent c, LayerKind k, AttentionRole a) => rows.Single(r => r.Component == c && r.Kind == k && r.Attention == a).MeanRank;
        Assert.True(Mean(ModelComponent.TextEncoder, LayerKind.Q, AttentionRole.Self) > 5);
        Assert.True(Mean(ModelComponent.TextEncoder, LayerKind.V, AttentionRole.Self) < 3);
        Assert.True(Mean(ModelComponent.Unet, LayerKind.K, AttentionRole.Cross) > Mean(ModelComponent.Unet, LayerKind.K, AttentionRole.Self) + 3);
        Assert.Equal(16, rows.Single(r => r.Component == ModelComponent.Unet && r.Kind == LayerKind.Q && r.Attention == AttentionRole.Cross).Layers);
        Assert.Equal(24, rows.Single(r => r.Component == ModelComponent.TextEncoder && r.Kind == LayerKind.FF).Layers);

        var text = paper.ToSummaryText();
        Assert.Matches(@"unet: mean rank \d+\.\d\d; highest: (q|k) \(cross\)", text);
        Assert.Matches(@"text_encoder: mean rank \d+\.\d\d; highest: (q|k) ", text);
    }

    [Fact]
    public void From_adapters_counts_their_own_parameters()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(1);
        using var lora = new LoraLinear("text_model.encoder.layers.5.self_attn.v_proj", 0, nn.Linear(8, 6), new LoraConfig { Rank = 3 });
        using var fake = new FakeAdapter("up_blocks.1.resnets.2.time_emb_proj", rank: 2, inFeatures: 16, outFeatures: 4, parameterCount: 11);
        var report = RankReport.FromAdapters([fake, lora]);
        Assert.Equal(["text_model.encoder.layers.5.self_attn.v_proj", "up_blocks.1.resnets.2.time_emb_proj"], report.Rows.Select(r => r.Name));
        Assert.Equal(3 * (8 + 6), report.Rows[0].TrainableParameters);
        Assert.Equal(11, report.Rows[1].TrainableParameters); // reported, not 2 * (16 + 4)
        Assert.Equal((LayerKind.V, 5), (report.Rows[0].Kind, report.Rows[0].Position.TextLayer));
        Assert.Equal((LayerKind.Time, "u1.r2"), (report.Rows[1].Kind, report.Rows[1].Position.Label));
    }

    /// <summary>An adapter whose parameters are not LoRA-shaped (like AdaLoRA with its E vector).</summary>
    sealed class FakeAdapter(string name, int rank, long inFeatures, long outFeatures, long parameterCount) : IAdapter, IDisposable
    {
        readonly Parameter parameter = new(zeros(parameterCount));

        public string Name => name;
        public int LayerIndex => 0;
        public int Rank => rank;
        public long InFeatures => inFeatures;
        public long OutFeatures => outFeatures;
        public bool Merged => false;
        public IEnumerable<Parameter> TrainableParameters() { yield return parameter; }
        public Tensor DeltaWeight() => zeros(outFeatures, inFeatures);
        public void Merge() { }
        public void Unmerge() { }
        public void Dispose() => parameter.Dispose();
    }
}
