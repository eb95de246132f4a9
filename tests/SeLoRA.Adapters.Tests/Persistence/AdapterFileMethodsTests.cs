using System.Text.Json;
using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using SeLoRA.Adapters.Persistence;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Persistence;

/// <summary>DyLoRA and AdaLoRA adapters in adapter files.</summary>
public sealed class AdapterFileMethodsTests : IDisposable
{
    readonly TempFolder temp = new();

    public AdapterFileMethodsTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => temp.Dispose();

    static readonly DyLoraConfig DyConfig = new() { MaxRank = 4, MinRank = 1, Alpha = 6, FrozenLowerRanks = true, PerLayerRanks = true, Seed = 13 };

    static readonly AdaLoraConfig AdaConfig = new() { InitR = 4, TargetR = 2, TInit = 5, TFinal = 10, DeltaT = 2, TotalStep = 100, Alpha = 8, Seed = 21 };

    static (TinyModel Model, IReadOnlyList<DyLoraLinear> Layers) DyModel(DyLoraConfig? config = null)
    {
        manual_seed(1);
        var model = new TinyModel(dim: 6, hidden: 10);
        var layers = AdapterInjector.Inject(model, _ => true, s => new DyLoraLinear(s.Name, s.Index, s.Layer, config ?? DyConfig));
        return (model, layers);
    }

    static (TinyModel Model, IReadOnlyList<AdaLoraLinear> Layers) AdaModel(AdaLoraConfig? config = null)
    {
        manual_seed(1);
        var model = new TinyModel(dim: 6, hidden: 10);
        var layers = AdapterInjector.Inject(model, _ => true, s => new AdaLoraLinear(s.Name, s.Index, s.Layer, config ?? AdaConfig));
        return (model, layers);
    }

    static void Prune(AdaLoraLinear layer)
    {
        var p = layer.Prune();
        p.OldA.Dispose();
        p.OldB.Dispose();
        p.OldE.Dispose();
    }

    static Tensor Forward(nn.Module<Tensor, Tensor> model)
    {
        manual_seed(5);
        using var x = randn(7, 6);
        return model.call(x);
    }

    [Fact]
    public void A_dylora_model_round_trips_bit_exactly_with_its_inference_ranks()
    {
        var (trained, layers) = DyModel();
        using var _ = trained;
        manual_seed(99);
        for (var i = 0; i < layers.Count; i++)
        {
            TestTensors.NonZero(layers[i].A, 0.3);
            TestTensors.NonZero(layers[i].B, 0.1);
            layers[i].InferenceRank = i % 4 + 1;
        }
        var path = temp.File("dylora.safetensors");
        AdapterFile.Save(path, trained);

        var header = SafetensorsFile.ReadHeader(path);
        Assert.Equal(2 * layers.Count, header.Entries.Count);
        Assert.Equal([4L, 6L], header.Find("base_model.model.blocks.0.to_q.lora_A.weight")!.Shape);
        Assert.Equal([10L, 4L], header.Find("base_model.model.blocks.0.net.0.lora_B.weight")!.Shape);
        using (var doc = JsonDocument.Parse(header.Metadata[AdapterFile.MetadataKey]))
        {
            var c = doc.RootElement.GetProperty("components")[0];
            Assert.Equal("dylora", c.GetProperty("method").GetString());
            Assert.Equal(DyConfig, DyLoraConfig.FromJson(c.GetProperty("config")));
            Assert.Equal(4, c.GetProperty("config").GetProperty("r_max").GetInt32());
            foreach (var l in layers)
            {
                Assert.Equal(l.InferenceRank, c.GetProperty("inference_ranks").GetProperty(l.Name).GetInt32());
                Assert.Equal(4, c.GetProperty("rank_pattern").GetProperty(l.Name).GetInt32());
            }
        }

        var (fresh, freshLayers) = DyModel();
        using var __ = fresh;
        var loaded = AdapterFile.Load(path, [new AdapterComponent("model", fresh)]);
        Assert.All(loaded, l => Assert.Equal(4, l.PreviousRank));
        Assert.Equal(layers.Select(l => l.InferenceRank), loaded.Select(l => l.Rank));
        for (var i = 0; i < layers.Count; i++)
        {
            Assert.True(TestTensors.Same(layers[i].A, freshLayers[i].A), layers[i].Name);
            Assert.True(TestTensors.Same(layers[i].B, freshLayers[i].B), layers[i].Name);
            Assert.Equal(layers[i].InferenceRank, freshLayers[i].InferenceRank);
        }

        trained.eval();
        fresh.eval();
        using (var y1 = Forward(trained))
        using (var y2 = Forward(fresh))
            Assert.True(TestTensors.Same(y1, y2), "restored inference ranks");
        for (var r = 1; r <= 4; r++)
        {
            foreach (var l in layers.Concat(freshLayers)) l.InferenceRank = r;
            using var y1 = Forward(trained);
            using var y2 = Forward(fresh);
            Assert.True(TestTensors.Same(y1, y2), $"inference rank {r}");
        }
    }

    [Fact]
    public void A_dylora_file_into_a_model_of_another_r_max_names_r_max_the_key_and_both_shapes()
    {
        var (model, _) = DyModel();
        using var _ = model;
        var path = temp.File("dylora.safetensors");
        AdapterFile.Save(path, model);
        var (other, otherLayers) = DyModel(DyConfig with { MaxRank = 6 });
        using var __ = other;
        using var before = otherLayers[0].A.clone();

        var e = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(path, [new AdapterComponent("model", other)]));
        Assert.Contains("the file's DyLoRA r_max is 4, the model's is 6", e.Message);
        Assert.Contains("tensor 'base_model.model.blocks.0.to_q.lora_A.weight' has shape [4, 6]; the model's adapter 'blocks.0.to_q' expects [r, 6] with rank 6 (DyLoRA r_max)", e.Message);
        Assert.Contains("tensor 'base_model.model.blocks.0.net.0.lora_B.weight' has shape [10, 4]; the model's adapter 'blocks.0.net.0' expects [10, r] with rank 6", e.Message);
        Assert.True(TestTensors.Same(before, otherLayers[0].A));
    }

    /// <summary>
    /// Trained-looking AdaLoRA state: layer 0 pruned to rank 0, layer 1 masked to 2 of 4 (E moved again since, as training
    /// moves it between maskings), layer 2 masked then pruned to 2 (ranknum stays 4), the others full.
    /// </summary>
    static void TrainAda(IReadOnlyList<AdaLoraLinear> layers)
    {
        manual_seed(99);
        foreach (var l in layers)
        {
            TestTensors.NonZero(l.A, 0.3);
            TestTensors.NonZero(l.B, 0.3);
            TestTensors.NonZero(l.E, 0.5);
        }
        layers[0].ApplyMask([false, false, false, false]);
        Prune(layers[0]);
        layers[1].ApplyMask([true, false, true, false]);
        using (no_grad()) layers[1].E.add_(0.01);
        layers[2].ApplyMask([false, true, false, true]);
        Prune(layers[2]);
    }

    [Fact]
    public void An_adalora_model_with_pruned_and_masked_layers_round_trips_bit_exactly_under_peft_s_keys()
    {
        var (trained, layers) = AdaModel();
        using var _ = trained;
        TrainAda(layers);
        Assert.Equal([0, 2, 2, 4], layers.Take(4).Select(l => l.Rank));
        Assert.Equal([0, 4, 2, 4], layers.Take(4).Select(l => l.AllocatedRank));
        var path = temp.File("adalora.safetensors");
        AdapterFile.Save(path, trained);

        var header = SafetensorsFile.ReadHeader(path);
        Assert.Equal(3 * layers.Count, header.Entries.Count);
        Assert.All(header.Entries, e => Assert.DoesNotContain(".weight", e.Name));
        var name0 = layers[0].Name;
        Assert.Equal([0L, layers[0].InFeatures], header.Find($"base_model.model.{name0}.lora_A")!.Shape);
        Assert.Equal([layers[0].OutFeatures, 0L], header.Find($"base_model.model.{name0}.lora_B")!.Shape);
        Assert.Equal([0L, 1L], header.Find($"base_model.model.{name0}.lora_E")!.Shape);
        Assert.Equal([4L, 1L], header.Find($"base_model.model.{layers[1].Name}.lora_E")!.Shape);
        Assert.Equal([layers[2].OutFeatures, 2L], header.Find($"base_model.model.{layers[2].Name}.lora_B")!.Shape);
        using (var doc = JsonDocument.Parse(header.Metadata[AdapterFile.MetadataKey]))
        {
            var c = doc.RootElement.GetProperty("components")[0];
            Assert.Equal("adalora", c.GetProperty("method").GetString());
            Assert.Equal(AdaConfig, AdaLoraConfig.FromJson(c.GetProperty("config")));
            Assert.Equal([true, false, true, false], c.GetProperty("rank_pattern").GetProperty(layers[1].Name).EnumerateArray().Select(v => v.GetBoolean()));
            Assert.Equal(0, c.GetProperty("rank_pattern").GetProperty(name0).GetArrayLength());
            Assert.Equal(4.0, c.GetProperty("ranknum").GetProperty(name0).GetDouble());
            Assert.Equal(4.0, c.GetProperty("ranknum").GetProperty(layers[2].Name).GetDouble());
            Assert.False(c.GetProperty("ranknum").TryGetProperty(layers[1].Name, out var __));
        }

        var (fresh, freshLayers) = AdaModel();
        using var ___ = fresh;
        var loaded = AdapterFile.Load(path, [new AdapterComponent("model", fresh)]);
        Assert.All(loaded, l => Assert.Equal(4, l.PreviousRank));
        Assert.Equal(layers.Select(l => l.Rank), loaded.Select(l => l.Rank));
        for (var i = 0; i < layers.Count; i++)
        {
            var (a, b) = (layers[i], freshLayers[i]);
            Assert.True(TestTensors.Same(a.A, b.A), $"A of {a.Name}");
            Assert.True(TestTensors.Same(a.B, b.B), $"B of {a.Name}");
            Assert.True(TestTensors.Same(a.E, b.E), $"E of {a.Name}");
            Assert.Equal(a.RankMask, b.RankMask);
            Assert.Equal(a.AllocatedRank, b.AllocatedRank);
            Assert.Equal(a.RankNum, b.RankNum);
            Assert.Equal(a.OutputScale, b.OutputScale);
            Assert.True(b.A.requires_grad && b.E.requires_grad);
        }
        Assert.Equal(trained.state_dict().Keys, fresh.state_dict().Keys);
        using (var y1 = Forward(trained))
        using (var y2 = Forward(fresh))
            Assert.True(TestTensors.Same(y1, y2));

        // The rank-0 module forwards as its base layer.
        manual_seed(3);
        using var x = randn(5, 6);
        using var y = freshLayers[0].call(x);
        using var baseY = nn.functional.linear(x, freshLayers[0].BaseWeight, freshLayers[0].BaseBias);
        Assert.True(TestTensors.Same(y, baseY));
    }

    [Fact]
    public void An_adalora_folder_has_peft_s_adalora_config_with_a_rank_pattern_for_the_saved_tensors()
    {
        var (model, layers) = AdaModel();
        using var _ = model;
        TrainAda(layers);
        var folder = temp.File("peft");
        AdapterFile.SaveFolder(folder, [new AdapterComponent("model", model)]);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, AdapterFile.PeftConfigFileName)));
        Assert.Equal("ADALORA", doc.RootElement.GetProperty("peft_type").GetString());
        var config = AdaLoraConfig.FromJson(doc.RootElement);
        Assert.Equal(AdaConfig with { Seed = 0 }, config with { RankPattern = null });
        foreach (var l in layers) Assert.Equal(l.AllocatedRank, config.RankPatternFor(l.Name)!.Length);
        Assert.Throws<NotSupportedException>(() => AdapterFile.PeftConfigOf(new AdapterComponent("model", model)));

        var (fresh, freshLayers) = AdaModel();
        using var __ = fresh;
        AdapterFile.LoadFolder(folder, [new AdapterComponent("model", fresh)]);
        Assert.True(TestTensors.Same(layers[1].E, freshLayers[1].E));
        Assert.Equal(layers[1].RankMask, freshLayers[1].RankMask);
    }

    [Fact]
    public void An_adalora_file_that_does_not_fit_names_the_key_both_shapes_or_the_ranknum()
    {
        var (model, _) = AdaModel();
        using var _ = model;
        var path = temp.File("adalora4.safetensors");
        AdapterFile.Save(path, model);

        var (small, smallLayers) = AdaModel(AdaConfig with { InitR = 2, TargetR = 1 });
        using var __ = small;
        using var before = smallLayers[0].A.clone();
        var shape = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(path, [new AdapterComponent("model", small)]));
        Assert.Contains("tensor 'base_model.model.blocks.0.to_q.lora_A' has shape [4, 6]; the model's adapter 'blocks.0.to_q' expects [r, 6] with rank 0..2", shape.Message);
        Assert.Contains("tensor 'base_model.model.blocks.0.to_q.lora_E' has shape [4, 1]; the model's adapter 'blocks.0.to_q' expects [r, 1] with rank 0..2", shape.Message);
        Assert.True(TestTensors.Same(before, smallLayers[0].A));
        Assert.Equal(2, smallLayers[0].AllocatedRank);

        // Fewer triplets fit the shapes, but ranknum 2 against the model's 4 would change the output scale.
        var smallPath = temp.File("adalora2.safetensors");
        AdapterFile.Save(smallPath, small);
        var ranknum = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(smallPath, [new AdapterComponent("model", model)]));
        Assert.Contains("adapter 'blocks.0.to_q': the file's ranknum is 2, the model's is 4", ranknum.Message);
    }

    [Fact]
    public void A_file_of_one_method_loaded_into_a_model_of_another_is_a_named_error()
    {
        var (dy, _) = DyModel();
        var (ada, _) = AdaModel();
        manual_seed(1);
        using var lora = new TinyModel(dim: 6, hidden: 10);
        AdapterInjector.Inject(lora, _ => true, s => new LoraLinear(s.Name, s.Index, s.Layer, new LoraConfig { Rank = 4 }));
        using var _ = dy;
        using var __ = ada;
        var files = new Dictionary<string, nn.Module>
        {
            ["dylora"] = dy,
            ["adalora"] = ada,
            ["lora"] = lora,
        };
        foreach (var (method, model) in files) AdapterFile.Save(temp.File(method + ".safetensors"), model);

        foreach (var (fileMethod, _) in files)
        {
            foreach (var (modelMethod, model) in files)
            {
                if (fileMethod == modelMethod) continue;
                var e = Assert.Throws<AdapterFileException>(() => AdapterFile.Load(temp.File(fileMethod + ".safetensors"), [new AdapterComponent("model", model)]));
                Assert.Contains($"the file holds {fileMethod} adapters, the model has {modelMethod}", e.Message);
                Assert.DoesNotContain("unexpected tensor", e.Message);
            }
        }
    }

    [Fact]
    public void Dylora_and_adalora_components_round_trip_together_in_the_diffusers_layout()
    {
        var (text, textLayers) = DyModel();
        var (unet, unetLayers) = AdaModel();
        using var _ = text;
        using var __ = unet;
        manual_seed(7);
        foreach (var l in textLayers)
        {
            TestTensors.NonZero(l.B, 0.1);
            l.InferenceRank = 2;
        }
        TrainAda(unetLayers);
        var folder = temp.File("diffusers");
        AdapterFile.SaveFolder(folder, [new AdapterComponent("text_encoder", text), new AdapterComponent("unet", unet)], AdapterKeyConvention.Diffusers);
        var header = SafetensorsFile.ReadHeader(Path.Combine(folder, AdapterFile.DiffusersWeightsFileName));
        Assert.NotNull(header.Find($"unet.{unetLayers[0].Name}.lora_E"));
        Assert.NotNull(header.Find($"text_encoder.{textLayers[0].Name}.lora_A.weight"));

        var (text2, textLayers2) = DyModel();
        var (unet2, unetLayers2) = AdaModel();
        using var ___ = text2;
        using var ____ = unet2;
        AdapterFile.LoadFolder(folder, [new AdapterComponent("text_encoder", text2), new AdapterComponent("unet", unet2)]);
        foreach (var (a, b) in textLayers.Zip(textLayers2))
            Assert.True(TestTensors.Same(a.B, b.B) && b.InferenceRank == 2, a.Name);
        foreach (var (a, b) in unetLayers.Zip(unetLayers2))
            Assert.True(TestTensors.Same(a.E, b.E) && TestTensors.Same(a.B, b.B) && a.RankMask.SequenceEqual(b.RankMask), a.Name);
    }
}
