using System.Text.Json;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Persistence;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Persistence;

public sealed class AdapterFileTests : IDisposable
{
    readonly TempFolder temp = new();

    readonly ITestOutputHelper output;

    public AdapterFileTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchRuntime.EnsureLoaded();
    }

    public void Dispose() => temp.Dispose();

    static readonly SeLoraConfig Config = new() { Seed = 17 };

    /// <summary>A TinyModel with fixed base weights (from <paramref name="baseSeed"/>) and SeLoRA on every Linear at rank 1.</summary>
    static (TinyModel Model, IReadOnlyList<SeLoraLinear> Layers) SeLoraModel(int baseSeed = 1, SeLoraConfig? config = null, string[]? targets = null)
    {
        manual_seed(baseSeed);
        var model = new TinyModel(dim: 6, hidden: 10);
        var filter = targets is null ? (Func<string, bool>)(_ => true) : TargetPattern.Any(targets);
        var layers = AdapterInjector.Inject(model, filter, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config ?? Config));
        return (model, layers);
    }

    /// <summary>Grows layer i by i mod 4 ranks with trained-looking weights before and after, as a run would leave it.</summary>
    static void Train(IReadOnlyList<SeLoraLinear> layers)
    {
        manual_seed(99);
        for (var i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            TestTensors.NonZero(l.A, 0.3);
            TestTensors.NonZero(l.B, 0.05);
            for (var k = 0; k < i % 4; k++)
            {
                var e = l.Expand();
                e.OldA.Dispose();
                e.OldB.Dispose();
            }
            TestTensors.NonZero(l.B, 0.05);
        }
    }

    [Fact]
    public void A_grown_selora_model_round_trips_bit_exactly_into_a_fresh_rank_one_model()
    {
        var (trained, layers) = SeLoraModel();
        using var _ = trained;
        Train(layers);
        Assert.Equal([1, 2, 3, 4, 1, 2, 3, 4, 1], layers.Select(l => l.Rank));
        var path = temp.File("adapter.safetensors");
        AdapterFile.Save(path, trained);

        var (fresh, freshLayers) = SeLoraModel();
        using var __ = fresh;
        var loaded = AdapterFile.Load(path, [new AdapterComponent("model", fresh)]);

        Assert.Equal(layers.Select(l => l.Rank), loaded.Select(l => l.Rank));
        Assert.All(loaded, l => Assert.Equal(1, l.PreviousRank));
        Assert.All(loaded, l => Assert.True(l.GrowthRestored));
        for (var i = 0; i < layers.Count; i++)
        {
            var (a, b) = (layers[i], freshLayers[i]);
            Assert.Equal(a.Name, b.Name);
            Assert.True(TestTensors.Same(a.A, b.A), $"A of {a.Name}");
            Assert.True(TestTensors.Same(a.B, b.B), $"B of {a.Name}");
            Assert.Equal(a.Scaling, b.Scaling);
            Assert.Equal(a.DrawCount, b.DrawCount);
            Assert.True(TestTensors.Same(a.TrialRow, b.TrialRow), $"trial row of {a.Name}");
            Assert.True(a.A.requires_grad && b.B.requires_grad);
        }
        manual_seed(5);
        using var x = randn(9, 6);
        using (var y1 = trained.call(x))
        using (var y2 = fresh.call(x))
            Assert.True(TestTensors.Same(y1, y2));
        Assert.Equal(trained.state_dict().Keys, fresh.state_dict().Keys);

        // The run continues identically: the next expansions draw the same rows.
        for (var i = 0; i < layers.Count; i++)
        {
            using var e1 = new Disposer(layers[i].Expand());
            using var e2 = new Disposer(freshLayers[i].Expand());
            Assert.True(TestTensors.Same(layers[i].A, freshLayers[i].A));
            Assert.True(TestTensors.Same(layers[i].TrialRow, freshLayers[i].TrialRow));
        }
    }

    sealed class Disposer(RankExpansion e) : IDisposable
    {
        public void Dispose()
        {
            e.OldA.Dispose();
            e.OldB.Dispose();
        }
    }

    [Fact]
    public void The_file_holds_peft_keys_and_metadata_whose_alpha_over_rank_is_selora_s_fixed_scaling()
    {
        var (model, layers) = SeLoraModel();
        using var _ = model;
        Train(layers);
        var path = temp.File("adapter.safetensors");
        AdapterFile.Save(path, model);

        var header = SafetensorsFile.ReadHeader(path);
        Assert.Equal(2 * layers.Count, header.Entries.Count);
        foreach (var l in layers)
        {
            Assert.Equal([l.Rank, l.InFeatures], header.Find($"base_model.model.{l.Name}.lora_A.weight")!.Shape);
            Assert.Equal([l.OutFeatures, l.Rank], header.Find($"base_model.model.{l.Name}.lora_B.weight")!.Shape);
        }
        Assert.Equal("pt", header.Metadata["format"]);
        using var doc = JsonDocument.Parse(header.Metadata[AdapterFile.MetadataKey]);
        var component = doc.RootElement.GetProperty("components")[0];
        Assert.Equal("selora", component.GetProperty("method").GetString());
        Assert.Equal(17UL, component.GetProperty("config").GetProperty("seed").GetUInt64());
        Assert.Equal(1, component.GetProperty("config").GetProperty("initial_rank").GetInt32());
        foreach (var l in layers)
        {
            var r = component.GetProperty("rank_pattern").GetProperty(l.Name).GetInt32();
            var alpha = component.GetProperty("alpha_pattern").GetProperty(l.Name).GetDouble();
            Assert.Equal(l.Rank, r);
            Assert.Equal(8.0, l.Scaling);
            Assert.Equal(l.Scaling, alpha / r); // PEFT: scaling = lora_alpha / r
            Assert.Equal(l.DrawCount, component.GetProperty("growth").GetProperty(l.Name).GetProperty("draw_count").GetInt64());
        }

        // adapter_config.json, as PEFT reads it: every layer's rank and scaling come back.
        AdapterFile.SaveFolder(temp.File("peft"), [new AdapterComponent("model", model)]);
        var peft = PeftLoraConfig.FromFile(temp.File("peft/adapter_config.json"));
        Assert.True(File.Exists(temp.File("peft/adapter_model.safetensors")));
        Assert.Equal(layers.Select(l => l.Name), peft.TargetModules);
        foreach (var l in layers)
        {
            Assert.Equal((l.Rank, l.Scaling * l.Rank), peft.Resolve(l.Name));
            Assert.Equal(l.Scaling, peft.ScalingFor(l.Name));
        }
        using var configDoc = JsonDocument.Parse(File.ReadAllText(temp.File("peft/adapter_config.json")));
        Assert.Equal("LORA", configDoc.RootElement.GetProperty("peft_type").GetString());
        Assert.Equal(1, configDoc.RootElement.GetProperty("r").GetInt32()); // ranks 1,2,3,4,1,2,3,4,1: rank 1 is the most common
        Assert.Equal(8.0, configDoc.RootElement.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(layers.Count(l => l.Rank != 1), configDoc.RootElement.GetProperty("rank_pattern").EnumerateObject().Count());
        Assert.Equal(layers.Count(l => l.Rank != 1), configDoc.RootElement.GetProperty("alpha_pattern").EnumerateObject().Count());
    }

    [Theory]
    [InlineData(8.0, 1)]
    [InlineData(8.0 / 3, 3)]
    [InlineData(0.1, 7)]
    [InlineData(1.0 / 7, 1)]
    [InlineData(2.5, 4)]
    public void Stored_alphas_give_back_the_scaling_at_every_rank(double scaling, int initialRank)
    {
        var exact = 0;
        var total = 0;
        for (var r = initialRank; r <= 512; r++)
        {
            var back = PeftLoraConfig.AlphaFor(scaling, r) / r;
            total++;
            if (back == scaling) exact++;
            else Assert.True(back == Math.BitIncrement(scaling) || back == Math.BitDecrement(scaling), $"r {r}: {back:R} vs {scaling:R}");
        }
        output.WriteLine($"scaling {scaling:R}: alpha / r == scaling exactly at {exact} of {total} ranks, one ulp off at the others");
        // SeLoRA's default (alpha 8, r0 1): s = 8 and alpha = 8 r, exact at every rank.
        for (var r = 1; r <= 4096; r++) Assert.Equal(8.0, PeftLoraConfig.AlphaFor(8.0, r) / r);
        var scaled = new SeLoraConfig { Alpha = 8, InitialRank = 3, ScaleWithRank = true };
        for (var r = 3; r < 40; r++) Assert.Equal(8.0, PeftLoraConfig.AlphaFor(scaled.ScalingFor(r), r), 12);
    }

    [Fact]
    public void Peft_pattern_keys_resolve_like_peft()
    {
        var config = new PeftLoraConfig
        {
            R = 1,
            LoraAlpha = 8,
            RankPattern = [new("text_model.encoder.layers.1.self_attn.q_proj", 3)],
            AlphaPattern = [new("text_model.encoder.layers.1.self_attn.q_proj", 24)],
        };
        Assert.Equal((3, 24.0), config.Resolve("text_model.encoder.layers.1.self_attn.q_proj"));
        // Full names do not leak onto their neighbours.
        Assert.Equal((1, 8.0), config.Resolve("text_model.encoder.layers.11.self_attn.q_proj"));
        Assert.Equal((1, 8.0), config.Resolve("text_model.encoder.layers.1.self_attn.k_proj"));
        Assert.Equal(8.0, config.ScalingFor("text_model.encoder.layers.1.self_attn.q_proj"));
        Assert.Equal(24 / Math.Sqrt(3), (config with { UseRsLora = true }).ScalingFor("text_model.encoder.layers.1.self_attn.q_proj"), 15);
    }

    [Fact]
    public void Two_components_round_trip_in_diffusers_layout_and_in_peft_folders()
    {
        var (text, textLayers) = SeLoraModel(1);
        var (unet, unetLayers) = SeLoraModel(2, targets: ["to_q", "to_k"]);
        using var _ = text;
        using var __ = unet;
        Train(textLayers);
        Train(unetLayers);
        AdapterComponent[] Components(nn.Module t, nn.Module u) => [new("text_encoder", t), new("unet", u)];

        foreach (var convention in new[] { AdapterKeyConvention.Diffusers, AdapterKeyConvention.Peft })
        {
            var folder = temp.File(convention.ToString());
            AdapterFile.SaveFolder(folder, Components(text, unet), convention);
            if (convention == AdapterKeyConvention.Diffusers)
            {
                var header = SafetensorsFile.ReadHeader(Path.Combine(folder, AdapterFile.DiffusersWeightsFileName));
                Assert.NotNull(header.Find("unet.blocks.1.to_k.lora_B.weight"));
                Assert.NotNull(header.Find("text_encoder.proj_out.lora_A.weight"));
                using var doc = JsonDocument.Parse(header.Metadata[AdapterFile.DiffusersMetadataKey]);
                Assert.Equal(8.0, doc.RootElement.GetProperty("unet.lora_alpha").GetDouble());
                var unetPeft = PeftLoraConfig.FromJson(JsonDocument.Parse(JsonSerializer.Serialize(
                    doc.RootElement.EnumerateObject().Where(p => p.Name.StartsWith("unet.")).ToDictionary(p => p.Name["unet.".Length..], p => p.Value))).RootElement);
                foreach (var l in unetLayers) Assert.Equal(l.Scaling, unetPeft.ScalingFor(l.Name));
            }
            else
            {
                Assert.True(File.Exists(Path.Combine(folder, "unet", AdapterFile.PeftConfigFileName)));
                Assert.True(File.Exists(Path.Combine(folder, "text_encoder", AdapterFile.PeftWeightsFileName)));
            }

            var (text2, textLayers2) = SeLoraModel(1);
            var (unet2, unetLayers2) = SeLoraModel(2, targets: ["to_q", "to_k"]);
            using var ___ = text2;
            using var ____ = unet2;
            var loaded = AdapterFile.LoadFolder(folder, Components(text2, unet2));
            Assert.Equal(textLayers.Count + unetLayers.Count, loaded.Count);
            foreach (var (a, b) in textLayers.Concat(unetLayers).Zip(textLayers2.Concat(unetLayers2)))
            {
                Assert.True(TestTensors.Same(a.A, b.A) && TestTensors.Same(a.B, b.B), $"{convention}: {a.Name}");
                Assert.Equal(a.DrawCount, b.DrawCount);
            }
        }
    }

    [Fact]
    public void Missing_extra_and_misshapen_keys_are_named_with_both_shapes_and_the_model_is_left_unchanged()
    {
        var (small, smallLayers) = SeLoraModel(targets: ["to_q"]);
        var (big, bigLayers) = SeLoraModel(targets: ["to_q", "to_k"]);
        using var _ = small;
        using var __ = big;
        var smallPath = temp.File("small.safetensors");
        var bigPath = temp.File("big.safetensors");
        AdapterFile.Save(smallPath, small);
        AdapterFile.Save(bigPath, big);

        using var before = bigLayers[0].A.clone();
        var missing = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(smallPath, [new AdapterComponent("model", big)]));
        Assert.Contains("missing tensor 'base_model.model.blocks.0.to_k.lora_A.weight'", missing.Message);
        Assert.Contains("[r, 6]", missing.Message);
        Assert.Contains(smallPath, missing.Message);
        Assert.True(TestTensors.Same(before, bigLayers[0].A));

        var extra = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(bigPath, [new AdapterComponent("model", small)]));
        Assert.Contains("unexpected tensor 'base_model.model.blocks.0.to_k.lora_A.weight' [1, 6]", extra.Message);

        // LoRA rank 2 into LoRA rank 4.
        manual_seed(1);
        using var lora2 = new TinyModel(dim: 6, hidden: 10);
        AdapterInjector.Inject(lora2, TargetPattern.Any("to_q"), s => new LoraLinear(s.Name, s.Index, s.Layer, new LoraConfig { Rank = 2 }));
        using var lora4 = new TinyModel(dim: 6, hidden: 10);
        AdapterInjector.Inject(lora4, TargetPattern.Any("to_q"), s => new LoraLinear(s.Name, s.Index, s.Layer, new LoraConfig { Rank = 4 }));
        var loraPath = temp.File("lora2.safetensors");
        AdapterFile.Save(loraPath, lora2);
        var shape = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(loraPath, [new AdapterComponent("model", lora4)]));
        Assert.Contains("tensor 'base_model.model.blocks.0.to_q.lora_A.weight' has shape [2, 6]; the model's adapter 'blocks.0.to_q' expects [r, 6] with rank 4", shape.Message);
        Assert.Contains("'base_model.model.blocks.0.to_q.lora_B.weight' has shape [6, 2]", shape.Message);

        // A SeLoRA layer cannot shrink to a smaller saved rank.
        using (var e = new Disposer(bigLayers[0].Expand()))
        {
            var shrink = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(bigPath, [new AdapterComponent("model", big)]));
            Assert.Contains("has shape [1, 6]; the model's adapter 'blocks.0.to_q' expects [r, 6] with rank >= 2", shrink.Message);
        }

        // Other method, other seed.
        using var seloraIntoLora = new TinyModel(dim: 6, hidden: 10);
        AdapterInjector.Inject(seloraIntoLora, TargetPattern.Any("to_q"), s => new LoraLinear(s.Name, s.Index, s.Layer, new LoraConfig { Rank = 1, Alpha = 8 }));
        var method = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(smallPath, [new AdapterComponent("model", seloraIntoLora)]));
        Assert.Contains("the file holds selora adapters, the model has lora", method.Message);

        var (otherSeed, otherLayers) = SeLoraModel(config: Config with { Seed = 18 }, targets: ["to_q"]);
        using var ___ = otherSeed;
        var seed = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(smallPath, [new AdapterComponent("model", otherSeed)]));
        Assert.Contains("seed 17", seed.Message);
        var accepted = AdapterFile.Load(smallPath, [new AdapterComponent("model", otherSeed)], new AdapterLoadOptions { RestoreGrowthState = false });
        Assert.All(accepted, l => Assert.False(l.GrowthRestored));
        Assert.True(TestTensors.Same(smallLayers[0].A, otherLayers[0].A));

        // Other alpha: the scaling differs.
        var (otherAlpha, _) = SeLoraModel(config: Config with { Alpha = 4 }, targets: ["to_q"]);
        using var ____ = otherAlpha;
        var scaling = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(smallPath, [new AdapterComponent("model", otherAlpha)]));
        Assert.Contains("the file's scaling 8/1 = 8 differs from the model's 4", scaling.Message);
    }

    [Fact]
    public void Corrupted_files_give_the_safetensors_reader_s_named_errors()
    {
        var (model, _) = SeLoraModel(targets: ["to_q"]);
        using var __ = model;
        var path = temp.File("good.safetensors");
        AdapterFile.Save(path, model);
        var bytes = File.ReadAllBytes(path);
        AdapterComponent[] components = [new("model", model)];

        var truncated = temp.File("truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..^10]);
        var e1 = Assert.Throws<WeightFileException>(() => AdapterFile.Load(truncated, components));
        Assert.Contains(truncated, e1.Message);
        Assert.Contains("truncated", e1.Message);

        var badLength = temp.File("bad-length.safetensors");
        var copy = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(copy.AsSpan(0, 8), (ulong)bytes.Length * 2);
        File.WriteAllBytes(badLength, copy);
        var e2 = Assert.Throws<WeightFileException>(() => AdapterFile.Load(badLength, components));
        Assert.Contains("header length", e2.Message);

        var badJson = temp.File("bad-json.safetensors");
        copy = (byte[])bytes.Clone();
        copy[8] = (byte)'[';
        File.WriteAllBytes(badJson, copy);
        var e3 = Assert.Throws<WeightFileException>(() => AdapterFile.Load(badJson, components));
        Assert.Contains(badJson, e3.Message);

        var e4 = Assert.Throws<WeightFileException>(() => AdapterFile.Load(temp.File("absent.safetensors"), components));
        Assert.Contains("not found", e4.Message);
    }
}
