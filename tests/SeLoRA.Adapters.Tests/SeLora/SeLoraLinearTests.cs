using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.SeLora;

public sealed class SeLoraLinearTests
{
    readonly ITestOutputHelper output;

    public SeLoraLinearTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    [Fact]
    public void Starts_at_rank_one_with_official_init_and_scaling()
    {
        using var layer = new SeLoraLinear("fc", 3, nn.Linear(24, 5), new SeLoraConfig { Seed = 11 });
        Assert.Equal(1, layer.Rank);
        Assert.Equal(8.0, layer.Scaling);
        Assert.Equal(0f, layer.B.abs().max().item<float>());
        var bound = Math.Sqrt(6.0 / 24);
        Assert.True(layer.A.abs().max().item<float>() <= bound);
        Assert.True(layer.TrialRow.abs().max().item<float>() <= bound);
        Assert.Equal(2, layer.DrawCount);
        // Draw 0 is A, draw 1 the trial row, both from the documented seed.
        using (var gen = DrawSeed.Generator(11, 3, 0))
        using (var expected = Initializers.KaimingUniform_(empty(1, 24), 0, gen))
            Assert.True(TestTensors.Same(layer.A, expected));
        Assert.Equal(["weight", "bias", "lora_A.weight", "lora_B.weight"], layer.state_dict().Keys);
    }

    [Fact]
    public void Expansion_leaves_the_output_unchanged()
    {
        manual_seed(7);
        using var model = new TinyModel(dim: 8, hidden: 12);
        var layers = AdapterInjector.Inject(model, _ => true, s => new SeLoraLinear(s.Name, s.Index, s.Layer, new SeLoraConfig { Seed = 5 }));
        using var x = randn(16, 8);
        var worst = 0.0;
        for (var round = 0; round < 4; round++)
        {
            // Trained-looking weights, so B A != 0 and the adapters change the output by O(1).
            foreach (var l in layers) { TestTensors.NonZero(l.A, 0.3); TestTensors.NonZero(l.B, 0.05); }
            using var before = model.call(x);
            using (var frozen = BaseOutput(model, layers, x))
                Assert.True(TestTensors.MaxAbsDiff(before, frozen) > 0.1, "the adapters should matter in this test");
            foreach (var l in layers)
            {
                var oldA = l.A.clone();
                var expansion = l.Expand();
                Assert.Equal(expansion.OldRank + 1, l.Rank);
                Assert.Same(expansion.NewA, l.A);
                Assert.True(TestTensors.Same(l.A.narrow(0, 0, expansion.OldRank), oldA));
                Assert.Equal(0f, l.B.narrow(1, expansion.OldRank, 1).abs().max().item<float>());
                Assert.True(l.A.narrow(0, expansion.OldRank, 1).abs().max().item<float>() > 0);
                Assert.True(l.A.requires_grad && l.B.requires_grad);
                expansion.OldA.Dispose();
                expansion.OldB.Dispose();
                oldA.Dispose();
            }
            using var after = model.call(x);
            worst = Math.Max(worst, TestTensors.MaxAbsDiff(before, after));
        }
        output.WriteLine($"max |output after - before| over 4 expansions of 9 layers: {worst:G3}");
        Assert.True(worst <= 1e-6, $"expansion changed the output by {worst}");
        Assert.All(layers, l => Assert.Equal(5, l.Rank));
        Assert.All(layers, l => Assert.Equal(8.0, l.Scaling));
        Assert.Contains("blocks.0.to_q.lora_A.weight", model.state_dict().Keys);
        Assert.Equal(5, model.state_dict()["blocks.0.to_q.lora_A.weight"].shape[0]);
    }

    static Tensor BaseOutput(TinyModel model, IReadOnlyList<SeLoraLinear> layers, Tensor x)
    {
        var saved = layers.Select(l => l.B.clone()).ToList();
        using (no_grad()) foreach (var l in layers) l.B.zero_();
        var y = model.call(x);
        using (no_grad()) for (var i = 0; i < layers.Count; i++) { layers[i].B.copy_(saved[i]); saved[i].Dispose(); }
        return y;
    }

    [Fact]
    public void Rejection_keeps_the_trial_row_and_acceptance_adds_a_fresh_row_and_redraws_it()
    {
        using var layer = new SeLoraLinear("fc", 0, nn.Linear(6, 4), new SeLoraConfig { Seed = 1 });
        using var trial = layer.TrialRow.clone();
        layer.BeginTrial();
        layer.EndTrial();
        Assert.True(TestTensors.Same(layer.TrialRow, trial));
        Assert.Equal(2, layer.DrawCount);

        var expansion = layer.Expand();
        using var newRow = layer.A.narrow(0, 1, 1).clone();
        Assert.False(TestTensors.Same(newRow, trial), "the accepted row must be a fresh draw, not the tested trial row");
        Assert.False(TestTensors.Same(layer.TrialRow, trial), "a fresh trial row follows an acceptance");
        Assert.Equal(4, layer.DrawCount);
        using (var gen = DrawSeed.Generator(1, 0, 2))
        using (var expected = Initializers.KaimingUniform_(empty(1, 6), 0, gen))
            Assert.True(TestTensors.Same(newRow, expected));
        expansion.OldA.Dispose();
        expansion.OldB.Dispose();
    }

    [Fact]
    public void Max_rank_is_respected_and_merged_or_trial_layers_refuse_to_expand()
    {
        using var layer = new SeLoraLinear("fc", 0, nn.Linear(6, 4), new SeLoraConfig { MaxRank = 2 });
        layer.Expand();
        Assert.True(layer.AtMaxRank);
        Assert.Throws<InvalidOperationException>(() => layer.Expand());
        using var other = new SeLoraLinear("g", 1, nn.Linear(6, 4), new SeLoraConfig());
        other.BeginTrial();
        Assert.Throws<InvalidOperationException>(() => other.Expand());
        Assert.Throws<InvalidOperationException>(other.Merge);
        other.EndTrial();
        other.Merge();
        Assert.Throws<InvalidOperationException>(() => other.Expand());
    }

    [Fact]
    public void Replicas_with_the_same_seed_draw_identical_tensors()
    {
        static SeLoraLinear Make(ulong seed) => new("fc", 4, nn.Linear(10, 3), new SeLoraConfig { Seed = seed });
        using var a = Make(42);
        using var b = Make(42);
        using var c = Make(43);
        for (var i = 0; i < 3; i++) { a.Expand(); b.Expand(); c.Expand(); }
        Assert.True(TestTensors.Same(a.A, b.A));
        Assert.True(TestTensors.Same(a.TrialRow, b.TrialRow));
        Assert.False(TestTensors.Same(a.A, c.A));
        Assert.NotEqual(DrawSeed.For(1, 2, 3), DrawSeed.For(1, 3, 2));
    }
}
