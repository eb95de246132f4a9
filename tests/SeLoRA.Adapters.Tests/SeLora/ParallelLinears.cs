using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.SeLora;

/// <summary>Independent linear layers on the same input; forward stacks their outputs to [layers, batch, out].</summary>
sealed class ParallelLinears : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> layers;

    public ParallelLinears(int count, int inFeatures, int outFeatures) : base(nameof(ParallelLinears))
    {
        TorchRuntime.EnsureLoaded();
        layers = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (var i = 0; i < count; i++) layers.Add(nn.Linear(inFeatures, outFeatures));
        RegisterComponents();
    }

    public int Count => layers.Count;

    public Linear BaseLinear(int i) => (Linear)layers[i];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return stack(layers.Select(l => l.call(x)).ToArray(), 0).MoveToOuterDisposeScope();
    }

    /// <summary>Mean squared error per layer [layers], from stacked predictions and targets.</summary>
    public static Tensor LossPerLayer(Tensor prediction, Tensor target) => (prediction - target).square().mean(new long[] { 1, 2 });
}
