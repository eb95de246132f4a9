using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Torch.Nn;

/// <summary>The one place models build normalisation layers, so TorchSharp defects are fixed once.</summary>
public static class NormLayers
{
    /// <summary>
    /// nn.GroupNorm with PyTorch's initialisation. TorchSharp 0.107.0 leaves GroupNorm's affine weight and bias
    /// uninitialised (garbage or NaN), so they are set to 1 and 0 here.
    /// </summary>
    public static GroupNorm GroupNorm(long numGroups, long numChannels, double eps = 1e-5, bool affine = true,
        Device? device = null, ScalarType? dtype = null)
    {
        if (numGroups <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: {numChannels} channels cannot be split into {numGroups} groups.");
        var norm = nn.GroupNorm(numGroups, numChannels, eps, affine, device, dtype);
        if (affine)
        {
            using var _ = no_grad();
            norm.weight!.fill_(1.0);
            norm.bias!.zero_();
        }
        return norm;
    }

    /// <summary>nn.LayerNorm, here so every model takes its norms from one file (LayerNorm initialises correctly).</summary>
    public static LayerNorm LayerNorm(long normalizedShape, double eps = 1e-5, bool elementwiseAffine = true,
        Device? device = null, ScalarType? dtype = null)
        => nn.LayerNorm(normalizedShape, eps, elementwiseAffine, bias: true, device, dtype);
}
