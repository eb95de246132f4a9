using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>The hidden_act values transformers' ACT2FN maps for CLIP text encoders.</summary>
public static class ClipActivation
{
    public static IReadOnlyList<string> Supported { get; } = ["quick_gelu", "gelu", "gelu_new"];

    public static bool IsSupported(string name) => Supported.Contains(name);

    /// <summary>OpenAI CLIP's activation: x · sigmoid(1.702 x).</summary>
    public static Tensor QuickGelu(Tensor x)
    {
        using var gate = sigmoid(x * 1.702);
        return x * gate;
    }

    /// <summary>Applies the named activation; "gelu" is the exact (erf) form, "gelu_new" the tanh approximation.</summary>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "quick_gelu" => QuickGelu(x),
        "gelu" => nn.functional.gelu(x),
        "gelu_new" => GeluTanh(x),
        _ => throw new ArgumentException($"hidden_act \"{name}\" is not supported (use {string.Join(", ", Supported)}).", nameof(name)),
    };

    static Tensor GeluTanh(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inner = (x + x.pow(3) * 0.044715) * Math.Sqrt(2.0 / Math.PI);
        var result = x * 0.5 * (tanh(inner) + 1.0);
        return result.MoveToOuterDisposeScope();
    }
}
