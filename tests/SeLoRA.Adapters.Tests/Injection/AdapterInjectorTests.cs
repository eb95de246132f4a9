using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Injection;

public sealed class AdapterInjectorTests
{
    [Fact]
    public void Replaces_fields_and_module_list_slots_and_keeps_the_output()
    {
        manual_seed(1);
        using var model = new TinyModel();
        using var x = randn(4, 6);
        using var before = model.call(x);
        var baseKeys = model.state_dict().Keys.ToList();

        var adapters = AdapterInjector.Inject(model, TargetPattern.Any("to_q", "to_k", "net.2"),
            site => new LoraLinear(site.Name, site.Index, site.Layer, new LoraConfig { Rank = 2 }));

        Assert.Equal(
            ["blocks.0.to_q", "blocks.0.to_k", "blocks.0.net.2", "blocks.1.to_q", "blocks.1.to_k", "blocks.1.net.2"],
            adapters.Select(a => a.Name));
        Assert.Equal([0, 1, 2, 3, 4, 5], adapters.Select(a => a.LayerIndex));
        // The model's modules are now the wrappers (registered children).
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        foreach (var a in adapters) Assert.Same(a, modules[a.Name]);
        Assert.IsType<Linear>(modules["blocks.0.net.0"]);
        Assert.IsType<Linear>(modules["proj_out"]);

        // Base keys unchanged and in the same order; adapter keys added under PEFT's names.
        var keys = model.state_dict().Keys.ToList();
        Assert.Equal(baseKeys, keys.Where(k => !k.Contains(".lora_")).ToList());
        Assert.Contains("blocks.1.net.2.lora_A.weight", keys);
        Assert.Contains("blocks.0.to_k.lora_B.weight", keys);

        // B = 0: same output. Then a non-zero B must change it, which proves forward goes through the wrappers.
        using (var after = model.call(x)) Assert.Equal(0.0, TestTensors.MaxAbsDiff(before, after));
        foreach (var a in adapters)
        {
            TestTensors.NonZero(a.B);
            using var changed = model.call(x);
            Assert.True(TestTensors.MaxAbsDiff(before, changed) > 1e-4, $"forward does not use the adapter at {a.Name}");
            using (no_grad()) a.B.zero_();
        }

        // Adapted layers' bases are frozen at injection; the rest of the model is frozen on request.
        Assert.All(adapters, a => Assert.False(a.BaseWeight.requires_grad));
        Assert.True(model.parameters().Count(p => p.requires_grad) > adapters.Count * 2);
        var marked = AdapterInjector.MarkOnlyAdaptersTrainable(model);
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        Assert.Equal(adapters.Count * 2, trainable.Count);
        Assert.Equal(trainable.Count, marked.Count);
        Assert.All(adapters.SelectMany(a => a.TrainableParameters()), p => Assert.Contains(p, trainable));
    }

    [Fact]
    public void Glob_patterns_match_whole_dotted_names()
    {
        var f = TargetPattern.Any("blocks.*.net.0", "**.attn2.to_k");
        Assert.True(f("blocks.3.net.0"));
        Assert.False(f("blocks.3.net.00"));
        Assert.False(f("x.blocks.3.net.0"));
        Assert.True(f("attn2.to_k"));
        Assert.True(f("down.0.attentions.1.attn2.to_k"));
        Assert.False(f("down.0.attn1.to_k"));
        Assert.True(new TargetPattern("ff.net.0.proj").Matches("mid.ff.net.0.proj"));
        Assert.False(new TargetPattern("proj").Matches("mid.ff.net.0.xproj"));
    }

    sealed class BadlyTyped : nn.Module<Tensor, Tensor>
    {
        readonly Linear fc;

        public BadlyTyped() : base(nameof(BadlyTyped))
        {
            fc = nn.Linear(3, 3);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc.call(x);
    }

    [Fact]
    public void A_field_typed_Linear_is_reported_and_the_model_is_left_unchanged()
    {
        TorchRuntime.EnsureLoaded();
        using var model = new BadlyTyped();
        var e = Assert.Throws<InvalidOperationException>(() =>
            AdapterInjector.Inject(model, _ => true, site => new LoraLinear(site.Name, site.Index, site.Layer, new LoraConfig())));
        Assert.Contains("BadlyTyped.fc", e.Message);
        Assert.IsType<Linear>(model.named_modules().Single(m => m.name == "fc").module);
    }
}
