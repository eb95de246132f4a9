using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Injection;

public sealed class AdapterPresetsTests
{
    readonly ITestOutputHelper output;

    public AdapterPresetsTests(ITestOutputHelper output) => this.output = output;

    static AdapterPlan PlanSd15(AdapterTargets targets, int rank = 1)
    {
        var text = AdapterPlan.ForLinears(Sd15Keys.Linears("text_encoder"), targets.TextEncoderFilter, rank, AdapterPresets.TextEncoder);
        var unet = AdapterPlan.ForLinears(Sd15Keys.Linears("unet"), targets.UnetFilter, rank, AdapterPresets.Unet);
        return text.Concat(unet);
    }

    [Fact]
    public void Selora_paper_selects_the_206_layers_and_475904_parameters_of_the_official_run()
    {
        var plan = PlanSd15(AdapterPresets.Get(AdapterPresets.SeLoraPaper));
        var byComponent = plan.ByComponent.ToDictionary(c => c.Component);
        output.WriteLine(plan.Format(perLayer: false));
        Assert.Equal(72, byComponent[AdapterPresets.TextEncoder].Layers);
        Assert.Equal(165_888, byComponent[AdapterPresets.TextEncoder].Parameters);
        Assert.Equal(134, byComponent[AdapterPresets.Unet].Layers);
        Assert.Equal(310_016, byComponent[AdapterPresets.Unet].Parameters);
        Assert.Equal(206, plan.Count);
        Assert.Equal(475_904, plan.TrainableParameters);

        // Per kind: 6 x 12 text layers; 16 transformer blocks x 7 (q, k, v of attn1 and attn2, ff.net.0.proj); 22 resnets.
        var unet = plan.Layers.Where(l => l.Component == AdapterPresets.Unet).Select(l => l.Name).ToList();
        Assert.Equal(22, unet.Count(n => n.EndsWith(".time_emb_proj", StringComparison.Ordinal)));
        Assert.Equal(16, unet.Count(n => n.EndsWith(".ff.net.0.proj", StringComparison.Ordinal)));
        Assert.Equal(96, unet.Count(n => n.Contains(".attn1.to_") || n.Contains(".attn2.to_")));
        Assert.DoesNotContain(unet, n => n.Contains("to_out") || n.EndsWith("ff.net.2") || n.StartsWith("time_embedding."));
        // A rank-r LoRA on the same layers has r times as many.
        Assert.Equal(8 * 475_904L, PlanSd15(AdapterPresets.Get(AdapterPresets.SeLoraPaper), rank: 8).TrainableParameters);
    }

    [Fact]
    public void Diffusers_attn_and_all_linear_select_what_they_say()
    {
        var attn = PlanSd15(AdapterPresets.Get(AdapterPresets.DiffusersAttention));
        Assert.DoesNotContain(attn.Layers, l => l.Component == AdapterPresets.TextEncoder);
        Assert.Equal(128, attn.Count); // 16 blocks x 2 attentions x (q, k, v, out.0)
        Assert.All(attn.Layers, l => Assert.Matches(@"\.attn[12]\.to_(q|k|v|out\.0)$", l.Name));

        var all = PlanSd15(AdapterPresets.Get(AdapterPresets.AllLinear));
        var byComponent = all.ByComponent.ToDictionary(c => c.Component);
        Assert.Equal(Sd15Keys.Linears("text_encoder").Count, byComponent[AdapterPresets.TextEncoder].Layers);
        Assert.Equal(Sd15Keys.Linears("unet").Count, byComponent[AdapterPresets.Unet].Layers);
        Assert.Equal(72, byComponent[AdapterPresets.TextEncoder].Layers);
        Assert.Equal(184, byComponent[AdapterPresets.Unet].Layers);
        output.WriteLine(all.Format(perLayer: false));
    }

    [Fact]
    public void Plans_of_an_sd15_skeleton_on_the_meta_device_match_the_key_lists()
    {
        TorchRuntime.EnsureLoaded();
        var meta = new Device(DeviceType.META);
        using var text = ModuleTree.FromLinears(Sd15Keys.Linears("text_encoder"), meta);
        using var unet = ModuleTree.FromLinears(Sd15Keys.Linears("unet"), meta);
        foreach (var name in AdapterPresets.Names)
        {
            var targets = AdapterPresets.Get(name);
            var fromModules = AdapterPlan.ForPair(text, unet, targets, rank: 1);
            var fromKeys = PlanSd15(targets);
            Assert.Equal(fromKeys.Layers.OrderBy(l => l.Component + "/" + l.Name, StringComparer.Ordinal),
                fromModules.Layers.OrderBy(l => l.Component + "/" + l.Name, StringComparer.Ordinal));
        }
        Assert.Equal(475_904, AdapterPlan.ForPair(text, unet, AdapterPresets.Get(AdapterPresets.SeLoraPaper), 1).TrainableParameters);
        Assert.Equal(0, AdapterPlan.ForPair(text, unet, AdapterPresets.Resolve(adaptTextEncoder: false), 1)
            .Layers.Count(l => l.Component == AdapterPresets.TextEncoder));
    }

    /// <summary>A miniature SD pair with every kind of linear the presets distinguish.</summary>
    static (ModuleTree Text, ModuleTree Unet) MiniPair()
    {
        var text = new List<(string, long, long)>();
        foreach (var p in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) text.Add(($"text_model.encoder.layers.0.self_attn.{p}", 4, 4));
        text.Add(("text_model.encoder.layers.0.mlp.fc1", 4, 8));
        text.Add(("text_model.encoder.layers.0.mlp.fc2", 8, 4));
        var unet = new List<(string, long, long)> { ("time_embedding.linear_1", 4, 8), ("time_embedding.linear_2", 8, 8) };
        foreach (var block in new[] { "down_blocks.0", "mid_block", "up_blocks.1" })
        {
            unet.Add(($"{block}.resnets.0.time_emb_proj", 8, 6));
            var t = $"{block}.attentions.0.transformer_blocks.0";
            foreach (var attn in new[] { "attn1", "attn2" })
                foreach (var p in new[] { "to_q", "to_k", "to_v", "to_out.0" }) unet.Add(($"{t}.{attn}.{p}", 6, 6));
            unet.Add(($"{t}.ff.net.0.proj", 6, 12));
            unet.Add(($"{t}.ff.net.2", 6, 6));
        }
        return (ModuleTree.FromLinears(text), ModuleTree.FromLinears(unet));
    }

    [Fact]
    public void Injecting_a_preset_into_a_small_pair_adapts_exactly_the_planned_layers()
    {
        TorchRuntime.EnsureLoaded();
        var expected = new Dictionary<string, (int Text, int Unet)>
        {
            [AdapterPresets.SeLoraPaper] = (6, 3 * 8),
            [AdapterPresets.DiffusersAttention] = (0, 3 * 8),
            [AdapterPresets.AllLinear] = (6, 2 + 3 * 11),
        };
        foreach (var name in AdapterPresets.Names)
        {
            var (text, unet) = MiniPair();
            using var _ = text;
            using var __ = unet;
            var targets = AdapterPresets.Get(name);
            var plan = AdapterPlan.ForPair(text, unet, targets, rank: 1);
            var config = new SeLoraConfig { Seed = 3 };
            var textAdapters = AdapterInjector.Inject(text, targets.TextEncoderFilter, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config));
            var unetAdapters = AdapterInjector.Inject(unet, targets.UnetFilter, s => new SeLoraLinear(s.Name, s.Index, s.Layer, config), firstIndex: textAdapters.Count);

            Assert.Equal(expected[name], (textAdapters.Count, unetAdapters.Count));
            Assert.Equal(plan.Layers.Select(l => l.Name), textAdapters.Concat(unetAdapters).Select(a => a.Name));
            Assert.Equal(Enumerable.Range(0, plan.Count), textAdapters.Concat(unetAdapters).Select(a => a.LayerIndex));
            var trainable = textAdapters.Concat(unetAdapters).SelectMany(a => a.TrainableParameters()).Sum(p => p.numel());
            Assert.Equal(plan.TrainableParameters, trainable);
            // Everything not planned is still a plain Linear.
            var planned = plan.Layers.Select(l => l.Name).ToHashSet();
            foreach (var (n, m) in text.named_modules().Concat(unet.named_modules()))
                if (m is Linear) Assert.DoesNotContain(n, planned);
        }
    }

    [Fact]
    public void Resolve_applies_user_patterns_per_component_and_the_text_encoder_switch()
    {
        var paper = AdapterPresets.Resolve();
        Assert.Equal(AdapterPresets.SeLoraPaper, paper.Name);
        Assert.True(paper.AdaptsTextEncoder);

        var off = AdapterPresets.Resolve(AdapterPresets.SeLoraPaper, adaptTextEncoder: false);
        Assert.False(off.AdaptsTextEncoder);
        Assert.False(off.TextEncoderFilter("text_model.encoder.layers.0.self_attn.q_proj"));

        var custom = AdapterPresets.Resolve(AdapterPresets.DiffusersAttention, unetPatterns: ["**.attn2.to_k"], textEncoderPatterns: ["q_proj"]);
        Assert.Equal("diffusers-attn+custom", custom.Name);
        Assert.True(custom.UnetFilter("up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"));
        Assert.False(custom.UnetFilter("up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k"));
        Assert.True(custom.TextEncoderFilter("text_model.encoder.layers.3.self_attn.q_proj"));

        var e = Assert.Throws<ArgumentException>(() => AdapterPresets.Resolve(AdapterPresets.DiffusersAttention, adaptTextEncoder: true));
        Assert.Contains("diffusers-attn", e.Message);
        var unknown = Assert.Throws<ArgumentException>(() => AdapterPresets.Get("selora"));
        Assert.Contains("selora-paper, diffusers-attn, all-linear", unknown.Message);
    }
}
