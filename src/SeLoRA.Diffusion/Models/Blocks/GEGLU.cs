using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers <c>GEGLU</c>: proj to 2 x dimOut, split into (value, gate), return value * gelu(gate) (exact erf GELU).</summary>
public sealed class GEGLU : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> proj;
#pragma warning restore IDE1006

    public GEGLU(long dimIn, long dimOut, Device? device = null) : base(nameof(GEGLU))
    {
        proj = nn.Linear(dimIn, dimOut * 2, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var projected = proj.forward(hiddenStates);
        var parts = projected.chunk(2, -1);
        var result = parts[0] * nn.functional.gelu(parts[1]);
        return scope.MoveToOuter(result);
    }
}
