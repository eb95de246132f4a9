using static TorchSharp.torch;

namespace SeLoRA.Adapters.Core;

/// <summary>Weight initialisers that take an explicit generator (TorchSharp's nn.init.kaiming_uniform_ takes none).</summary>
public static class Initializers
{
    /// <summary>
    /// PyTorch's kaiming_uniform_(tensor, a, mode='fan_in', nonlinearity='leaky_relu') on a 2-D tensor:
    /// U(-bound, bound) with bound = sqrt(2 / (1 + a^2)) * sqrt(3 / fan_in), fan_in = size(1).
    /// a = sqrt(5) gives PEFT's bound 1/sqrt(in); a = 0 gives SeLoRA's bound sqrt(6/in).
    /// </summary>
    public static Tensor KaimingUniform_(Tensor tensor, double a, Generator? generator = null)
    {
        var bound = KaimingUniformBound(tensor.shape[1], a);
        using (no_grad())
            tensor.uniform_(-bound, bound, generator);
        return tensor;
    }

    public static double KaimingUniformBound(long fanIn, double a)
    {
        if (fanIn <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), fanIn, "fan-in must be positive");
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        return gain * Math.Sqrt(3.0 / fanIn);
    }

    /// <summary>N(mean, std^2) in place.</summary>
    public static Tensor Normal_(Tensor tensor, double mean, double std, Generator? generator = null)
    {
        using (no_grad())
            tensor.normal_(mean, std, generator);
        return tensor;
    }
}
