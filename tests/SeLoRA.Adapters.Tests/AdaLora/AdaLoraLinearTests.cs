using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.Injection;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.AdaLora;

public sealed class AdaLoraLinearTests
{
    readonly ITestOutputHelper output;

    public AdaLoraLinearTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    static readonly AdaLoraConfig Config = new() { InitR = 4, TargetR = 2, TotalStep = 100, Alpha = 8, Seed = 21 };

    [Fact]
    public void Starts_as_peft_svd_linear_with_zero_E_and_seeded_normal_A_B()
    {
        using var layer = new AdaLoraLinear("fc", 5, nn.Linear(300, 200), Config with { InitR = 12 });
        Assert.Equal(12, layer.Rank);
        Assert.Equal(12, layer.AllocatedRank);
        Assert.Equal([12L, 300L], layer.A.shape);
        Assert.Equal([200L, 12L], layer.B.shape);
        Assert.Equal([12L, 1L], layer.E.shape);
        Assert.Equal(0f, layer.E.abs().max().item<float>());
        Assert.InRange(layer.A.std().item<float>(), 0.019, 0.021);
        Assert.InRange(layer.B.std().item<float>(), 0.019, 0.021);
        Assert.InRange(layer.A.mean().item<float>(), -0.001, 0.001);
        using (var gen = DrawSeed.Generator(21, 5, 0))
        using (var a = Initializers.Normal_(empty(12, 300), 0, 0.02, gen))
        using (var b = Initializers.Normal_(empty(200, 12), 0, 0.02, gen))
        {
            Assert.True(TestTensors.Same(layer.A, a));
            Assert.True(TestTensors.Same(layer.B, b));
        }
        Assert.Equal(8.0 / (12 + 1e-5), layer.OutputScale, 12);
        Assert.Equal(["bias", "lora_A", "lora_B", "lora_E", "weight"], layer.state_dict().Keys.Order());
        Assert.Equal(3, layer.TrainableParameters().Count());
    }

    [Fact]
    public void Forward_is_base_plus_B_A_times_E_scaled_by_alpha_over_ranknum()
    {
        manual_seed(1);
        using var layer = new AdaLoraLinear("fc", 0, nn.Linear(6, 5), Config);
        TestTensors.NonZero(layer.E);
        using var x = randn(3, 6);
        using var y = layer.call(x);
        using var scope = NewDisposeScope();
        var expected = x.matmul(layer.BaseWeight.t()) + layer.BaseBias! + x.matmul((layer.A * layer.E).t()).matmul(layer.B.t()) * (8.0 / (4 + 1e-5));
        Assert.True(TestTensors.MaxAbsDiff(y, expected) <= 1e-6);
    }

    [Fact]
    public void Base_stays_frozen_and_merge_unmerge_preserve_outputs()
    {
        manual_seed(8);
        using var model = new TinyModel(dim: 6, hidden: 10);
        var layers = AdapterInjector.Inject(model, _ => true, s => new AdaLoraLinear(s.Name, s.Index, s.Layer, Config));
        var trainable = AdapterInjector.MarkOnlyAdaptersTrainable(model);
        Assert.Equal(layers.Count * 3, trainable.Count);
        foreach (var l in layers) TestTensors.NonZero(l.E, 1.0);
        using var x = randn(8, 6);
        using var w0 = layers[1].BaseWeight.clone();
        using var unmerged = model.call(x);
        foreach (var l in layers) l.Merge();
        using var merged = model.call(x);
        foreach (var l in layers) l.Unmerge();
        using var again = model.call(x);
        var worst = Math.Max(TestTensors.MaxAbsDiff(unmerged, merged), TestTensors.MaxAbsDiff(unmerged, again));
        output.WriteLine($"max |merged - unmerged| = {worst:G3}");
        Assert.True(worst <= 1e-6, $"merge changed outputs by {worst}");
        Assert.True(TestTensors.MaxAbsDiff(layers[1].BaseWeight, w0) <= 1e-6);

        using var loss = model.call(x).square().mean() + OrthogonalRegularizer.Loss(layers, 0.5);
        loss.backward();
        Assert.All(layers, l => Assert.Null(l.BaseWeight.grad));
        Assert.All(layers, l => Assert.NotNull(l.E.grad));
    }

    [Fact]
    public void Pruning_masked_triplets_keeps_the_output()
    {
        manual_seed(2);
        using var layer = new AdaLoraLinear("fc", 0, nn.Linear(6, 5), Config);
        TestTensors.NonZero(layer.E);
        using var x = randn(4, 6);
        layer.ApplyMask([true, false, true, false]);
        Assert.Equal(2, layer.Rank);
        Assert.Equal(0f, layer.E[1].abs().item<float>());
        using var before = layer.call(x);
        using var keptA = layer.A.index_select(0, tensor(new long[] { 0, 2 }));
        var pruning = layer.Prune();
        Assert.Equal(2, pruning.NewRank);
        Assert.Equal(2, layer.AllocatedRank);
        Assert.True(TestTensors.Same(layer.A, keptA));
        Assert.Same(pruning.NewE, layer.E);
        Assert.Equal([2L, 6L], layer.state_dict()["lora_A"].shape);
        using var after = layer.call(x);
        Assert.True(TestTensors.MaxAbsDiff(before, after) <= 1e-6);
        pruning.OldA.Dispose();
        pruning.OldB.Dispose();
        pruning.OldE.Dispose();
    }

    [Fact]
    public void A_rank_zero_module_forwards_as_its_base_and_round_trips_its_state()
    {
        manual_seed(3);
        var linear = nn.Linear(6, 5);
        using var layer = new AdaLoraLinear("fc", 0, linear, Config);
        TestTensors.NonZero(layer.E);
        using var x = randn(4, 6);
        using var baseOutput = nn.functional.linear(x, layer.BaseWeight, layer.BaseBias);
        using (var adapted = layer.call(x))
            Assert.True(TestTensors.MaxAbsDiff(adapted, baseOutput) > 1e-4, "the adapter should matter before pruning");

        layer.ApplyMask([false, false, false, false]);
        Assert.Equal(0, layer.Rank);
        var pruning = layer.Prune();
        pruning.OldA.Dispose(); pruning.OldB.Dispose(); pruning.OldE.Dispose();
        Assert.Equal(0, layer.AllocatedRank);
        Assert.Equal([0L, 6L], layer.A.shape);
        Assert.Equal([5L, 0L], layer.B.shape);
        Assert.Equal([0L, 1L], layer.E.shape);

        using (var y = layer.call(x))
            Assert.True(TestTensors.MaxAbsDiff(y, baseOutput) == 0, "a rank-0 module must output its base layer's output");
        using (var delta = layer.DeltaWeight())
            Assert.Equal(0f, delta.abs().max().item<float>());
        using (var loss = layer.call(x).square().mean() + OrthogonalRegularizer.Loss([layer], 0.5))
        {
            loss.backward();
            Assert.False(float.IsNaN(loss.item<float>()));
        }
        layer.Merge();
        layer.Unmerge();

        // Export through a safetensors file and load into a fresh rank-0 module.
        var path = Path.Combine(Path.GetTempPath(), $"adalora-rank0-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsFile.Save(path, layer.state_dict());
            var loaded = SafetensorsFile.Load(path);
            Assert.Equal([0L, 6L], loaded["lora_A"].shape);
            using var fresh = new AdaLoraLinear("fc", 0, nn.Linear(6, 5), Config, rank: 0);
            fresh.load_state_dict(loaded);
            foreach (var t in loaded.Values) t.Dispose();
            using var y2 = fresh.call(x);
            Assert.True(TestTensors.MaxAbsDiff(y2, baseOutput) == 0);
            Assert.True(TestTensors.Same(fresh.BaseWeight, layer.BaseWeight));
            Assert.Equal(0, fresh.Rank);

            // The allocator copes with a rank-0 module among others.
            using var other = new AdaLoraLinear("g", 1, nn.Linear(6, 5), Config);
            TestTensors.NonZero(other.E);
            using var allocator = new RankAllocator([fresh, other], Config);
            using (var loss = (fresh.call(x) + other.call(x)).square().mean() + allocator.OrthogonalLoss())
                loss.backward();
            allocator.UpdateImportance();
            Assert.Empty(allocator.TripletScores()[0]);
            var pattern = allocator.MaskToBudget(2);
            Assert.Empty(pattern["fc"]);
            Assert.Equal(2, other.Rank);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Reads_peft_adapter_config_with_rank_pattern()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""
            {"peft_type": "ADALORA", "init_r": 6, "target_r": 3, "tinit": 10, "tfinal": 20, "deltaT": 5, "beta1": 0.8, "beta2": 0.9,
             "orth_reg_weight": 0.1, "total_step": 200, "lora_alpha": 16, "lora_dropout": 0.0, "init_lora_weights": true, "r": 8,
             "rank_pattern": {"base_model.model.text.q_proj.lora_E.default": [true, false, true, false, false, true], "unet.to_k": [false, false, false, false, false, false]}}
            """);
        var c = AdaLoraConfig.FromJson(doc.RootElement);
        Assert.Equal((6, 3, 10L, 20L, 5L, 0.8, 0.9, 0.1, 200L, 16.0), (c.InitR, c.TargetR, c.TInit, c.TFinal, c.DeltaT, c.Beta1, c.Beta2, c.OrthRegWeight, c.TotalStep!.Value, c.Alpha));
        Assert.Equal([true, false, true, false, false, true], c.RankPatternFor("text.q_proj")!);
        Assert.Equal(6, c.RankPatternFor("unet.to_k")!.Length);
        Assert.Null(c.RankPatternFor("text.k_proj"));
        Assert.Null(c.RankPatternFor("q_proj"));

        var defaults = AdaLoraConfig.FromJson(System.Text.Json.JsonDocument.Parse("""{"total_step": 50}""").RootElement);
        Assert.Equal(new AdaLoraConfig { TotalStep = 50 }, defaults);
        Assert.Equal((12, 8, 0.85, 0.85, 0.5, 1L), (defaults.InitR, defaults.TargetR, defaults.Beta1, defaults.Beta2, defaults.OrthRegWeight, defaults.DeltaT));

        Assert.Throws<ArgumentOutOfRangeException>(() => AdaLoraConfig.FromJson(System.Text.Json.JsonDocument.Parse("{}").RootElement));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => AdaLoraConfig.FromJson(System.Text.Json.JsonDocument.Parse("""{"total_step": 10, "tinit": 5, "tfinal": 5}""").RootElement));
        Assert.Contains("budgeting phase", e.Message);
        Assert.Throws<FormatException>(() => AdaLoraConfig.FromJson(System.Text.Json.JsonDocument.Parse("""{"total_step": 10, "rank_pattern": {"a": [1, 0]}}""").RootElement));
    }
}
