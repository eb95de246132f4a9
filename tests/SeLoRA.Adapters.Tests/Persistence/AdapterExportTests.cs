using System.Text.Json;
using System.Text.RegularExpressions;
using SeLoRA.Adapters.AdaLora;
using SeLoRA.Adapters.Core;
using SeLoRA.Adapters.DyLora;
using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Persistence;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Persistence;

/// <summary>
/// Exports of a checkpoint-style adapters.safetensors (components text_encoder and unet, diffusers' keys). This project
/// does not reference SeLoRA.Diffusion, so the two components are module trees with Stable Diffusion's module paths
/// (text_model.encoder.layers.N.self_attn.q_proj, down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q, ...) and
/// small Linear layers: the names, which are all the exports depend on, are SD1.5's.
/// </summary>
public sealed class AdapterExportTests : IDisposable
{
    readonly TempFolder temp = new();

    public AdapterExportTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => temp.Dispose();

    /// <summary>A scaling (alpha / initial rank) with no exact float32 alpha at most ranks, so the kohya alphas' precision shows.</summary>
    static readonly SeLoraConfig Config = new() { Seed = 17, Alpha = 3.7 };

    static readonly (string Path, int In, int Out)[] TextEncoderLinears =
    [
        .. Enumerable.Range(0, 2).SelectMany(i => new[]
        {
            ($"text_model.encoder.layers.{i}.self_attn.q_proj", 8, 8),
            ($"text_model.encoder.layers.{i}.self_attn.k_proj", 8, 8),
            ($"text_model.encoder.layers.{i}.self_attn.v_proj", 8, 8),
            ($"text_model.encoder.layers.{i}.self_attn.out_proj", 8, 8),
            ($"text_model.encoder.layers.{i}.mlp.fc1", 8, 16),
            ($"text_model.encoder.layers.{i}.mlp.fc2", 16, 8),
        }),
    ];

    static readonly (string Path, int In, int Out)[] UnetLinears =
    [
        ("down_blocks.0.resnets.0.time_emb_proj", 12, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", 8, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k", 8, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v", 8, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0", 8, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q", 8, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", 6, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v", 6, 8),
        ("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj", 8, 32),
        ("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2", 16, 8),
        ("mid_block.attentions.0.transformer_blocks.0.attn1.to_q", 8, 8),
        ("up_blocks.1.resnets.0.time_emb_proj", 12, 8),
        ("up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v", 6, 8),
    ];

    static readonly Regex KohyaKey = new(@"^lora_(unet|te)_[a-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$");

    sealed class Node : nn.Module
    {
        public Node() : base(nameof(Node))
        {
        }
    }

    static nn.Module Tree(IEnumerable<(string Path, int In, int Out)> linears)
    {
        var root = new Node();
        foreach (var (path, i, o) in linears)
        {
            var parts = path.Split('.');
            nn.Module current = root;
            foreach (var part in parts[..^1])
            {
                var child = current.named_children().FirstOrDefault(c => c.name == part).module;
                if (child is null)
                {
                    child = new Node();
                    current.register_module(part, child);
                }
                current = child;
            }
            current.register_module(parts[^1], nn.Linear(i, o));
        }
        return root;
    }

    sealed record Models(AdapterComponent[] Components, IReadOnlyList<IAdapter> Layers) : IDisposable
    {
        public void Dispose()
        {
            foreach (var c in Components) c.Root.Dispose();
        }
    }

    static Models Build<T>(Func<InjectionSite, T> factory) where T : nn.Module<Tensor, Tensor>, IAdapter
    {
        manual_seed(1);
        var text = Tree(TextEncoderLinears);
        var unet = Tree(UnetLinears);
        var t = AdapterInjector.Inject(text, _ => true, factory);
        var u = AdapterInjector.Inject(unet, _ => true, factory, firstIndex: t.Count);
        return new Models([new AdapterComponent("text_encoder", text), new AdapterComponent("unet", unet)], [.. t, .. u]);
    }

    static Models SeLora() => Build(s => new SeLoraLinear(s.Name, s.Index, s.Layer, Config));

    /// <summary>A SeLoRA model as a run leaves it: layer i grown by i mod 4 ranks, non-zero A and B.</summary>
    static Models Trained()
    {
        var m = SeLora();
        manual_seed(99);
        for (var i = 0; i < m.Layers.Count; i++)
        {
            var l = (SeLoraLinear)m.Layers[i];
            TestTensors.NonZero(l.A, 0.3);
            for (var k = 0; k < i % 4; k++)
            {
                var e = l.Expand();
                e.OldA.Dispose();
                e.OldB.Dispose();
            }
            TestTensors.NonZero(l.B, 0.05);
        }
        return m;
    }

    string Checkpoint(Models m)
    {
        var path = temp.File("ckpt/adapters.safetensors");
        AdapterFile.Save(path, m.Components, AdapterKeyConvention.Diffusers);
        return path;
    }

    static void AssertSameAdapters(Models expected, Models actual)
    {
        Assert.Equal(expected.Layers.Count, actual.Layers.Count);
        for (var i = 0; i < expected.Layers.Count; i++)
        {
            var (a, b) = ((SeLoraLinear)expected.Layers[i], (SeLoraLinear)actual.Layers[i]);
            Assert.Equal(a.Name, b.Name);
            Assert.Equal(a.Rank, b.Rank);
            Assert.True(TestTensors.Same(a.A, b.A), $"A of {a.Name}");
            Assert.True(TestTensors.Same(a.B, b.B), $"B of {a.Name}");
        }
    }

    [Fact]
    public void Peft_export_writes_a_folder_per_component_that_loads_back_bit_identically()
    {
        using var trained = Trained();
        var ckpt = Checkpoint(trained);
        var outDir = temp.File("peft");

        var files = AdapterExport.Export(ckpt, AdapterExportFormat.Peft, outDir);

        Assert.Equal(4, files.Count);
        foreach (var c in new[] { "text_encoder", "unet" })
        {
            Assert.Contains(Path.Combine(Path.GetFullPath(outDir), c, AdapterFile.PeftWeightsFileName), files);
            Assert.Contains(Path.Combine(Path.GetFullPath(outDir), c, AdapterFile.PeftConfigFileName), files);
            Assert.All(SafetensorsFile.ReadHeader(Path.Combine(outDir, c, AdapterFile.PeftWeightsFileName)).Entries,
                e => Assert.StartsWith(AdapterFile.PeftPrefix, e.Name));
        }
        // adapter_config.json: PEFT gives every layer its own rank and scaling back.
        var unetConfig = PeftLoraConfig.FromFile(Path.Combine(outDir, "unet", AdapterFile.PeftConfigFileName));
        var unetLayers = trained.Layers.Cast<SeLoraLinear>().Where(l => UnetLinears.Any(u => u.Path == l.Name)).ToList();
        Assert.Equal(unetLayers.Select(l => l.Name), unetConfig.TargetModules);
        foreach (var l in unetLayers)
        {
            Assert.Equal(l.Rank, unetConfig.Resolve(l.Name).Rank);
            // AlphaFor's guarantee: alpha / r is s itself where some double alpha allows it, else one ulp away.
            Assert.True(Math.Abs(unetConfig.ScalingFor(l.Name) - l.Scaling) <= Math.BitIncrement(l.Scaling) - l.Scaling, $"scaling of {l.Name}");
        }
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "unet", AdapterFile.PeftConfigFileName))))
        {
            Assert.Equal("LORA", doc.RootElement.GetProperty("peft_type").GetString());
            Assert.True(doc.RootElement.GetProperty("rank_pattern").EnumerateObject().Any());
        }

        using var fresh = SeLora();
        var loaded = AdapterFile.LoadFolder(outDir, fresh.Components);
        Assert.Equal(trained.Layers.Count, loaded.Count);
        Assert.All(loaded, l => Assert.True(l.GrowthRestored));
        AssertSameAdapters(trained, fresh);
    }

    [Fact]
    public void Diffusers_export_writes_pytorch_lora_weights_with_diffusers_keys_that_load_back_bit_identically()
    {
        using var trained = Trained();
        var ckpt = Checkpoint(trained);
        var outDir = temp.File("diffusers");

        var files = AdapterExport.Export(ckpt, AdapterExportFormat.Diffusers, outDir);

        var file = Assert.Single(files);
        Assert.Equal(AdapterFile.DiffusersWeightsFileName, Path.GetFileName(file));
        var header = SafetensorsFile.ReadHeader(file);
        Assert.Equal(trained.Layers.Count * 2, header.Entries.Count);
        Assert.All(header.Entries, e => Assert.Matches(@"^(unet|text_encoder)\.[a-z0-9_.]+\.lora_[AB]\.weight$", e.Name));
        Assert.Contains(header.Entries, e => e.Name == "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight");
        Assert.Contains(header.Entries, e => e.Name == "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_B.weight");
        using (var meta = JsonDocument.Parse(header.Metadata[AdapterFile.DiffusersMetadataKey]))
        {
            Assert.True(meta.RootElement.TryGetProperty("unet.r", out _));
            Assert.True(meta.RootElement.TryGetProperty("text_encoder.alpha_pattern", out _));
        }

        using var fresh = SeLora();
        var loaded = AdapterFile.LoadFolder(outDir, fresh.Components);
        Assert.All(loaded, l => Assert.True(l.GrowthRestored));
        AssertSameAdapters(trained, fresh);
    }

    [Fact]
    public void Kohya_export_has_kohya_names_shapes_and_per_layer_alphas_and_imports_back()
    {
        using var trained = Trained();
        var ckpt = Checkpoint(trained);
        var file = temp.File("out/model_kohya.safetensors");

        var files = AdapterExport.Export(ckpt, AdapterExportFormat.Kohya, file);

        Assert.Equal([Path.GetFullPath(file)], files);
        var header = SafetensorsFile.ReadHeader(file);
        Assert.Equal(trained.Layers.Count * 3, header.Entries.Count);
        Assert.All(header.Entries, e => Assert.Matches(KohyaKey, e.Name));
        Assert.Equal("networks.lora", header.Metadata["ss_network_module"]);
        Assert.Equal("Dynamic", header.Metadata["ss_network_dim"]);
        Assert.Equal("Dynamic", header.Metadata["ss_network_alpha"]);

        var tensors = SafetensorsFile.Load(file);
        try
        {
            foreach (var layer in trained.Layers.Cast<SeLoraLinear>())
            {
                var prefix = TextEncoderLinears.Any(t => t.Path == layer.Name) ? "lora_te_" : "lora_unet_";
                var stem = prefix + layer.Name.Replace('.', '_');
                var down = tensors[stem + ".lora_down.weight"];
                var up = tensors[stem + ".lora_up.weight"];
                var alpha = tensors[stem + ".alpha"];
                Assert.Equal([layer.Rank, layer.InFeatures], down.shape);
                Assert.Equal([layer.OutFeatures, layer.Rank], up.shape);
                Assert.Empty(alpha.shape);
                Assert.Equal(ScalarType.Float32, alpha.dtype);
                Assert.True(TestTensors.Same(layer.A, down), $"lora_down of {stem}");
                Assert.True(TestTensors.Same(layer.B, up), $"lora_up of {stem}");
                var scaling = alpha.to(ScalarType.Float64).item<double>() / layer.Rank;
                Assert.True(Math.Abs(scaling - layer.Scaling) <= 1e-6 * layer.Scaling, $"{stem}: alpha / r = {scaling}, scaling {layer.Scaling}");
            }
            Assert.Contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight", tensors.Keys);
            Assert.Contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj.lora_up.weight", tensors.Keys);
            Assert.Contains("lora_unet_down_blocks_0_resnets_0_time_emb_proj.alpha", tensors.Keys);
            Assert.Contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", tensors.Keys);
            Assert.Contains("lora_te_text_model_encoder_layers_1_mlp_fc2.alpha", tensors.Keys);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }

        using var fresh = SeLora();
        var loaded = AdapterExport.ImportKohya(file, fresh.Components);
        Assert.Equal(trained.Layers.Count, loaded.Count);
        Assert.All(loaded, l => Assert.True(l.GrowthRestored));
        AssertSameAdapters(trained, fresh);
        foreach (var i in new[] { 0, 3, 13, 22 })
        {
            using var expected = trained.Layers[i].DeltaWeight();
            using var actual = fresh.Layers[i].DeltaWeight();
            Assert.True(TestTensors.Same(expected, actual), $"delta W of {trained.Layers[i].Name}");
        }
    }

    [Fact]
    public void A_kohya_file_without_selora_metadata_imports_by_its_alphas()
    {
        using var trained = Trained();
        var kohya = temp.File("k.safetensors");
        AdapterExport.Export(Checkpoint(trained), AdapterExportFormat.Kohya, kohya);
        var plain = temp.File("plain.safetensors");
        var tensors = SafetensorsFile.Load(kohya);
        try
        {
            SafetensorsFile.Save(plain, tensors, new Dictionary<string, string> { ["ss_network_module"] = "networks.lora" });
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }

        using var fresh = SeLora();
        var loaded = AdapterExport.ImportKohya(plain, fresh.Components);
        Assert.All(loaded, l => Assert.False(l.GrowthRestored));
        AssertSameAdapters(trained, fresh);
        for (var i = 0; i < trained.Layers.Count; i++)
        {
            using var expected = trained.Layers[i].DeltaWeight();
            using var actual = fresh.Layers[i].DeltaWeight();
            Assert.True(TestTensors.MaxAbsDiff(expected, actual) == 0, $"delta W of {trained.Layers[i].Name}");
        }

        // Another scaling (other alpha) is refused before anything changes.
        using var other = Build(s => new SeLoraLinear(s.Name, s.Index, s.Layer, Config with { Alpha = 8 }));
        var e = Assert.Throws<AdapterFileException>(() => AdapterExport.ImportKohya(plain, other.Components));
        Assert.Contains("alpha / r", e.Message);
        Assert.All(other.Layers, l => Assert.Equal(1, l.Rank));
    }

    [Fact]
    public void A_file_without_selora_metadata_takes_alphas_from_lora_adapter_metadata_or_the_given_models()
    {
        using var trained = Trained();
        var ckpt = Checkpoint(trained);
        var header = SafetensorsFile.ReadHeader(ckpt);
        var tensors = SafetensorsFile.Load(ckpt);
        var diffusersOnly = temp.File("diffusers-only.safetensors");
        var bare = temp.File("bare.safetensors");
        try
        {
            SafetensorsFile.Save(diffusersOnly, tensors, new Dictionary<string, string>
            {
                ["format"] = "pt",
                [AdapterFile.DiffusersMetadataKey] = header.Metadata[AdapterFile.DiffusersMetadataKey],
            });
            SafetensorsFile.Save(bare, tensors);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }

        foreach (var (source, models) in new[] { (diffusersOnly, (IReadOnlyList<AdapterComponent>?)null), (bare, trained.Components) })
        {
            var file = temp.File($"from-{Path.GetFileNameWithoutExtension(source)}.safetensors");
            AdapterExport.Export(source, AdapterExportFormat.Kohya, file, models);
            Assert.False(SafetensorsFile.ReadHeader(file).Metadata.ContainsKey(AdapterFile.MetadataKey));
            AssertKohyaDeltas(file, trained, l => l.Rank);
        }
        var e = Assert.Throws<AdapterFileException>(() => AdapterExport.Export(bare, AdapterExportFormat.Kohya, temp.File("x.safetensors")));
        Assert.Contains("alpha", e.Message);
    }

    [Fact]
    public void Kohya_export_of_dylora_keeps_the_inference_rank_branch()
    {
        var config = new DyLoraConfig { MaxRank = 4, Alpha = 3, Seed = 5 };
        using var m = Build(s => new DyLoraLinear(s.Name, s.Index, s.Layer, config));
        manual_seed(3);
        for (var i = 0; i < m.Layers.Count; i++)
        {
            var l = (DyLoraLinear)m.Layers[i];
            TestTensors.NonZero(l.B, 0.05);
            l.InferenceRank = 1 + i % 4;
        }
        var file = temp.File("dy.safetensors");
        AdapterExport.Export(Checkpoint(m), AdapterExportFormat.Kohya, file);
        AssertKohyaDeltas(file, m, l => ((DyLoraLinear)l).InferenceRank);
    }

    [Fact]
    public void Kohya_export_of_adalora_folds_e_into_lora_down_and_leaves_out_empty_layers()
    {
        var config = new AdaLoraConfig { InitR = 4, TargetR = 2, Alpha = 6, Seed = 5, TotalStep = 100 };
        using var m = Build(s => new AdaLoraLinear(s.Name, s.Index, s.Layer, config));
        manual_seed(3);
        foreach (var l in m.Layers.Cast<AdaLoraLinear>())
        {
            TestTensors.NonZero(l.B, 0.05);
            TestTensors.NonZero(l.E, 0.5);
        }
        var emptied = (AdaLoraLinear)m.Layers[2];
        emptied.ApplyMask([false, false, false, false]);
        var pruning = emptied.Prune();
        pruning.OldA.Dispose();
        pruning.OldB.Dispose();
        pruning.OldE.Dispose();
        var file = temp.File("ada.safetensors");
        var ckpt = Checkpoint(m);

        AdapterExport.Export(ckpt, AdapterExportFormat.Kohya, file);
        AssertKohyaDeltas(file, m, l => ((AdaLoraLinear)l).AllocatedRank);
        Assert.Equal((m.Layers.Count - 1) * 3, SafetensorsFile.ReadHeader(file).Entries.Count);

        var e = Assert.Throws<NotSupportedException>(() => AdapterExport.Export(ckpt, AdapterExportFormat.Diffusers, temp.File("ada-diffusers")));
        Assert.Contains("AdaLoRA", e.Message);
        // PEFT keeps AdaLoRA as it is.
        var peft = temp.File("ada-peft");
        AdapterExport.Export(ckpt, AdapterExportFormat.Peft, peft);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(peft, "unet", AdapterFile.PeftConfigFileName))))
            Assert.Equal("ADALORA", doc.RootElement.GetProperty("peft_type").GetString());
        using var fresh = Build(s => new AdaLoraLinear(s.Name, s.Index, s.Layer, config));
        AdapterFile.LoadFolder(peft, fresh.Components);
        for (var i = 0; i < m.Layers.Count; i++)
        {
            using var expected = m.Layers[i].DeltaWeight();
            using var actual = fresh.Layers[i].DeltaWeight();
            Assert.True(TestTensors.Same(expected, actual), $"delta W of {m.Layers[i].Name}");
        }
    }

    /// <summary>Every layer with a non-zero rank: kohya's up @ down * alpha / r equals the layer's delta W (float32 rounding).</summary>
    static void AssertKohyaDeltas(string file, Models m, Func<IAdapter, int> rank)
    {
        var tensors = SafetensorsFile.Load(file);
        try
        {
            Assert.All(tensors.Keys, k => Assert.Matches(KohyaKey, k));
            foreach (var layer in m.Layers)
            {
                var prefix = TextEncoderLinears.Any(t => t.Path == layer.Name) ? "lora_te_" : "lora_unet_";
                var stem = prefix + layer.Name.Replace('.', '_');
                if (rank(layer) == 0)
                {
                    Assert.DoesNotContain(stem + ".lora_down.weight", tensors.Keys);
                    continue;
                }
                using var scope = NewDisposeScope();
                var down = tensors[stem + ".lora_down.weight"];
                var r = rank(layer);
                Assert.Equal([r, layer.InFeatures], down.shape);
                var delta = tensors[stem + ".lora_up.weight"].to(ScalarType.Float64).matmul(down.to(ScalarType.Float64))
                            * (tensors[stem + ".alpha"].to(ScalarType.Float64).item<double>() / r);
                var expected = layer.DeltaWeight().to(ScalarType.Float64);
                var diff = TestTensors.MaxAbsDiff(delta, expected);
                var size = expected.abs().max().item<double>();
                Assert.True(diff <= 1e-5 * Math.Max(size, 1e-3), $"{stem}: delta W differs by {diff} (max |delta W| {size})");
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Theory]
    [InlineData("peft", AdapterExportFormat.Peft)]
    [InlineData("Diffusers", AdapterExportFormat.Diffusers)]
    [InlineData(" KOHYA ", AdapterExportFormat.Kohya)]
    public void Format_names_parse(string text, AdapterExportFormat expected) => Assert.Equal(expected, AdapterExport.ParseFormat(text));

    [Fact]
    public void An_unknown_format_names_the_accepted_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => AdapterExport.ParseFormat("lycoris"));
        Assert.Contains("'lycoris'", e.Message);
        Assert.Contains("peft, diffusers, kohya", e.Message);
    }

    [Fact]
    public void Kohya_key_names_follow_sd_scripts()
    {
        Assert.Equal("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
            KohyaKeys.LoraName(KohyaKeys.PrefixOf("unet"), "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"));
        Assert.Equal("lora_te_text_model_encoder_layers_0_self_attn_q_proj",
            KohyaKeys.LoraName(KohyaKeys.PrefixOf("text_encoder"), "text_model.encoder.layers.0.self_attn.q_proj"));
        Assert.Equal("lora_te1", KohyaKeys.PrefixOf("text_encoder", twoTextEncoders: true));
        Assert.Equal("lora_te2", KohyaKeys.PrefixOf("text_encoder_2"));
        Assert.Throws<NotSupportedException>(() => KohyaKeys.PrefixOf("vae"));
        Assert.Equal(("lora_unet_mid_block_attentions_0_proj_in", ".alpha"), KohyaKeys.Split("lora_unet_mid_block_attentions_0_proj_in.alpha"));
        Assert.Null(KohyaKeys.Split("unet.mid_block.attentions.0.proj_in.lora_A.weight"));
    }
}
