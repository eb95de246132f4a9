using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers <c>FeedForward</c>: net = [GEGLU(dim, inner), Dropout, Linear(inner, dimOut)] (+ Dropout if finalDropout).</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly ModuleList<nn.Module<Tensor, Tensor>> net;
#pragma warning restore IDE1006

    public FeedForward(long dim, long? dimOut = null, long mult = 4, double dropout = 0.0, string activationFn = "geglu",
        bool finalDropout = false, long? innerDim = null, Device? device = null) : base(nameof(FeedForward))
    {
        var inner = innerDim ?? dim * mult;
        if (activationFn != "geglu")
            throw new NotSupportedException($"FeedForward activation_fn '{activationFn}' is not supported (only 'geglu', which SD uses).");
        net = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            new GEGLU(dim, inner, device),
            nn.Dropout(dropout),
            nn.Linear(inner, dimOut ?? dim, device: device));
        if (finalDropout) net.Add(nn.Dropout(dropout));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var h = hiddenStates;
        foreach (var module in net) h = module.forward(h);
        return scope.MoveToOuter(h);
    }
}
