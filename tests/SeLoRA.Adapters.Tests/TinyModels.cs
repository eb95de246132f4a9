using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests;

/// <summary>A transformer-ish block: linear fields and a ModuleList, all typed Module&lt;Tensor, Tensor&gt; as the models are.</summary>
sealed class TinyBlock : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> to_q;
    readonly nn.Module<Tensor, Tensor> to_k;
    readonly ModuleList<nn.Module<Tensor, Tensor>> net;

    public TinyBlock(int dim, int hidden) : base(nameof(TinyBlock))
    {
        to_q = nn.Linear(dim, dim);
        to_k = nn.Linear(dim, dim, hasBias: false);
        net = new ModuleList<nn.Module<Tensor, Tensor>>(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = to_q.call(x) * to_k.call(x).sigmoid();
        foreach (var layer in net) h = layer.call(h);
        return (x + h).MoveToOuterDisposeScope();
    }
}

sealed class TinyModel : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    readonly nn.Module<Tensor, Tensor> proj_out;

    public TinyModel(int dim = 6, int hidden = 10, int depth = 2) : base(nameof(TinyModel))
    {
        TorchRuntime.EnsureLoaded();
        blocks = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (var i = 0; i < depth; i++) blocks.Add(new TinyBlock(dim, hidden));
        proj_out = nn.Linear(dim, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var block in blocks) h = block.call(h);
        return proj_out.call(h).MoveToOuterDisposeScope();
    }
}

static class TestTensors
{
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    /// <summary>Same shape and bit-equal values.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var scope = NewDisposeScope();
        return a.eq(b).all().item<bool>();
    }

    public static void NonZero(Tensor t, double std = 0.5)
    {
        using var scope = NewDisposeScope();
        using (no_grad()) t.normal_(0, std);
    }
}
