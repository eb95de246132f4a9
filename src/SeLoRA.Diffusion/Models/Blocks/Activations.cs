using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>diffusers' <c>get_activation</c>: activation modules by their config names.</summary>
internal static class Activations
{
    public static nn.Module<Tensor, Tensor> Get(string name) => name.ToLowerInvariant() switch
    {
        "swish" or "silu" => nn.SiLU(),
        "mish" => nn.Mish(),
        "gelu" => nn.GELU(),
        "relu" => nn.ReLU(),
        _ => throw new NotSupportedException($"activation function '{name}' is not supported (expected swish, silu, mish, gelu or relu)."),
    };
}
