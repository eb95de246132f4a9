using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.DyLora;

public sealed class DyLoraLinearTests
{
    readonly ITestOutputHelper output;

    public DyLoraLinearTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    static DyLoraLinear Make(DyLoraConfig config, int layerIndex = 2, int inFeatures = 7, int outFeatures = 5)
    {
        manual_seed(40 + layerIndex);
        var layer = new DyLoraLinear("fc", layerIndex, nn.Linear(inFeatures, outFeatures), config);
        TestTensors.NonZero(layer.B, 0.3);
        return layer;
    }

    [Fact]
    public void Starts_as_seeded_lora_at_r_max_with_peft_keys()
    {
        using var layer = new DyLoraLinear("fc", 3, nn.Linear(16, 4), new DyLoraConfig { MaxRank = 6, Alpha = 12, Seed = 9 });
        Assert.Equal(6, layer.MaxRank);
        Assert.Equal(6, layer.Rank);
        Assert.Equal(6, layer.InferenceRank);
        Assert.Equal(2.0, layer.Scaling);
        Assert.Equal(0f, layer.B.abs().max().item<float>());
        using (var gen = DrawSeed.Generator(9, 3, 0))
        using (var expected = Initializers.KaimingUniform_(empty(6, 16), Math.Sqrt(5), gen))
            Assert.True(TestTensors.Same(layer.A, expected));
        Assert.Equal(["weight", "bias", "lora_A.weight", "lora_B.weight"], layer.state_dict().Keys);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.TrainingRank = 7);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.InferenceRank = 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Inference_at_rank_b_equals_the_rank_b_training_branch_and_the_formula(bool frozen)
    {
        const int rMax = 6;
        const double alpha = 4;
        using var layer = Make(new DyLoraConfig { MaxRank = rMax, Alpha = alpha, FrozenLowerRanks = frozen, Seed = 3 });
        using var x = randn(11, 7);
        var worstBranch = 0.0;
        var worstFormula = 0.0;
        for (var b = 1; b <= rMax; b++)
        {
            layer.train();
            layer.TrainingRank = b;
            Assert.Equal(b, layer.Rank);
            using var trained = layer.call(x);
            layer.eval();
            layer.InferenceRank = b;
            Assert.Equal(b, layer.Rank);
            using var inferred = layer.call(x);
            worstBranch = Math.Max(worstBranch, TestTensors.MaxAbsDiff(trained, inferred));

            // (alpha / r_max) * (sqrt(r_max / b) B_b) (sqrt(r_max / b) A_b) x = (alpha / b) B_b A_b x, in float64.
            using var scope = NewDisposeScope();
            var x64 = x.to(ScalarType.Float64);
            var f = Math.Sqrt((double)rMax / b);
            var a = layer.A.narrow(0, 0, b).to(ScalarType.Float64) * f;
            var bm = layer.B.narrow(1, 0, b).to(ScalarType.Float64) * f;
            var expected = x64.matmul(layer.BaseWeight.to(ScalarType.Float64).t()) + layer.BaseBias!.to(ScalarType.Float64)
                           + x64.matmul(a.t()).matmul(bm.t()) * (alpha / rMax);
            worstFormula = Math.Max(worstFormula, TestTensors.MaxAbsDiff(inferred, expected));
            Assert.Equal(alpha / b, layer.ScalingFor(b), 12);
        }
        output.WriteLine($"frozen={frozen}: max |train(b) - eval(b)| = {worstBranch:G3}, max |eval(b) - float64 formula| = {worstFormula:G3}");
        Assert.True(worstBranch <= 1e-6, $"training and inference branches differ by {worstBranch}");
        Assert.True(worstFormula <= 1e-5, $"output differs from the formula by {worstFormula}");
    }

    [Fact]
    public void Frozen_mode_leaves_the_lower_ranks_without_gradient()
    {
        const int b = 4;
        using var frozen = Make(new DyLoraConfig { MaxRank = 6, FrozenLowerRanks = true });
        using var free = Make(new DyLoraConfig { MaxRank = 6 });
        using (no_grad()) { free.A.copy_(frozen.A); free.B.copy_(frozen.B); }
        using var x = randn(9, 7);
        foreach (var layer in new[] { frozen, free })
        {
            layer.train();
            layer.TrainingRank = b;
            using var loss = layer.call(x).square().sum();
            loss.backward();
            Assert.Null(layer.BaseWeight.grad);
            Assert.Null(layer.BaseBias!.grad);
        }
        using var scope = NewDisposeScope();
        float RowNorm(DyLoraLinear l, int i) => l.A.grad!.narrow(0, i, 1).abs().max().item<float>();
        float ColumnNorm(DyLoraLinear l, int i) => l.B.grad!.narrow(1, i, 1).abs().max().item<float>();
        for (var i = 0; i < 6; i++)
        {
            if (i == b - 1)
            {
                Assert.True(RowNorm(frozen, i) > 0 && ColumnNorm(frozen, i) > 0, "rank b must be trained");
                // The trained rank's gradient is the same as without freezing.
                Assert.True(TestTensors.MaxAbsDiff(frozen.A.grad!.narrow(0, i, 1), free.A.grad!.narrow(0, i, 1)) <= 1e-6);
            }
            else
            {
                Assert.Equal(0f, RowNorm(frozen, i));
                Assert.Equal(0f, ColumnNorm(frozen, i));
            }
            // Without freezing every used rank learns, and the unused ones never do.
            Assert.Equal(i < b, RowNorm(free, i) > 0);
            Assert.Equal(i < b, ColumnNorm(free, i) > 0);
        }
    }

    [Fact]
    public void Base_stays_frozen_and_merge_unmerge_preserve_outputs()
    {
        manual_seed(5);
        using var model = new TinyModel(dim: 6, hidden: 10);
        var config = new DyLoraConfig { MaxRank = 5, Seed = 1 };
        var layers = AdapterInjector.Inject(model, _ => true, s => new DyLoraLinear(s.Name, s.Index, s.Layer, config));
        var trainable = AdapterInjector.MarkOnlyAdaptersTrainable(model);
        Assert.Equal(layers.Count * 2, trainable.Count);
        foreach (var l in layers) TestTensors.NonZero(l.B, 0.2);
        using var w0 = layers[0].BaseWeight.clone();
        using var x = randn(8, 6);
        model.eval();
        var worst = 0.0;
        foreach (var rank in new[] { 5, 2 })
        {
            foreach (var l in layers) l.InferenceRank = rank;
            using var unmerged = model.call(x);
            foreach (var l in layers) l.Merge();
            Assert.Throws<InvalidOperationException>(() => layers[0].InferenceRank = 1);
            using var merged = model.call(x);
            foreach (var l in layers) l.Unmerge();
            using var again = model.call(x);
            worst = Math.Max(worst, Math.Max(TestTensors.MaxAbsDiff(unmerged, merged), TestTensors.MaxAbsDiff(unmerged, again)));
        }
        output.WriteLine($"max |merged - unmerged| output difference: {worst:G3}; base weight drift {TestTensors.MaxAbsDiff(layers[0].BaseWeight, w0):G3}");
        Assert.True(worst <= 1e-6, $"merge changed outputs by {worst}");
        Assert.True(TestTensors.MaxAbsDiff(layers[0].BaseWeight, w0) <= 1e-6);

        model.train();
        using var y = model.call(x);
        using var loss = y.square().mean();
        loss.backward();
        Assert.All(layers, l => Assert.Null(l.BaseWeight.grad));
        Assert.All(layers, l => Assert.NotNull(l.B.grad));
    }

    [Fact]
    public void Reads_its_json_config()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"r": 16, "min_r": 2, "lora_alpha": 32, "lora_dropout": 0.05, "frozen": true, "per_layer_ranks": true, "seed": 7}""");
        Assert.Equal(new DyLoraConfig { MaxRank = 16, MinRank = 2, Alpha = 32, Dropout = 0.05, FrozenLowerRanks = true, PerLayerRanks = true, Seed = 7 },
                     DyLoraConfig.FromJson(doc.RootElement));
        using var bad = System.Text.Json.JsonDocument.Parse("""{"r": 4, "min_r": 5}""");
        Assert.Throws<ArgumentOutOfRangeException>(() => DyLoraConfig.FromJson(bad.RootElement));
        using var wrongType = System.Text.Json.JsonDocument.Parse("""{"frozen": "yes"}""");
        var e = Assert.Throws<FormatException>(() => DyLoraConfig.FromJson(wrongType.RootElement));
        Assert.Contains("frozen", e.Message);
    }
}
