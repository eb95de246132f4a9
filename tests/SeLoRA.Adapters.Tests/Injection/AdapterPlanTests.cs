using SeLoRA.Adapters.Injection;
using SeLoRA.Adapters.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Injection;

public sealed class AdapterPlanTests
{
    [Fact]
    public void A_plan_lists_what_injection_then_adapts_without_changing_the_model()
    {
        manual_seed(2);
        using var model = new TinyModel(dim: 6, hidden: 10);
        var filter = TargetPattern.Any("to_q", "net.2");
        var before = model.named_modules().Select(m => (m.name, m.module.GetType())).ToList();

        var plan = AdapterPlan.For(model, filter, rank: 3, component: "tiny");
        Assert.Equal(before, model.named_modules().Select(m => (m.name, m.module.GetType())).ToList());
        Assert.Equal(["blocks.0.to_q", "blocks.0.net.2", "blocks.1.to_q", "blocks.1.net.2"], plan.Layers.Select(l => l.Name));
        Assert.Equal((6L, 6L), (plan.Layers[0].InFeatures, plan.Layers[0].OutFeatures));
        Assert.Equal((10L, 6L), (plan.Layers[1].InFeatures, plan.Layers[1].OutFeatures));
        Assert.Equal(2 * 3 * (12 + 16), plan.TrainableParameters);

        var adapters = AdapterInjector.Inject(model, filter, s => new LoraLinear(s.Name, s.Index, s.Layer, new LoraConfig { Rank = 3 }));
        Assert.Equal(plan.Layers.Select(l => l.Name), adapters.Select(a => a.Name));
        Assert.Equal(plan.TrainableParameters, adapters.SelectMany(a => a.TrainableParameters()).Sum(p => p.numel()));

        var text = plan.Format();
        Assert.Contains("tiny.blocks.1.net.2", text);
        Assert.Contains("total: 4 layers, 168 trainable parameters", text);
        // Adapted layers are no longer Linear, so a second plan finds nothing left to adapt there.
        Assert.Equal(0, AdapterPlan.For(model, filter, 3).Count);
        // A custom count, e.g. AdaLoRA's r singular values on top of A and B.
        using var fresh = new TinyModel(dim: 6, hidden: 10);
        var custom = AdapterPlan.For(fresh, filter, 3, parameters: (i, o, r) => r * (i + o + 1));
        Assert.Equal(plan.TrainableParameters + 4 * 3, custom.TrainableParameters);
    }
}
