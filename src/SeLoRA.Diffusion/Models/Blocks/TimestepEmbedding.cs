using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers <c>TimestepEmbedding</c>: linear_1 -> act -> linear_2.</summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> linear_1;
    private readonly nn.Module<Tensor, Tensor> act;
    private readonly nn.Module<Tensor, Tensor> linear_2;
#pragma warning restore IDE1006

    public TimestepEmbedding(long inChannels, long timeEmbedDim, string actFn = "silu", long? outDim = null, Device? device = null)
        : base(nameof(TimestepEmbedding))
    {
        linear_1 = nn.Linear(inChannels, timeEmbedDim, device: device);
        act = Activations.Get(actFn);
        linear_2 = nn.Linear(timeEmbedDim, outDim ?? timeEmbedDim, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor sample)
    {
        using var scope = NewDisposeScope();
        var h = linear_1.forward(sample);
        h = act.forward(h);
        h = linear_2.forward(h);
        return scope.MoveToOuter(h);
    }
}
