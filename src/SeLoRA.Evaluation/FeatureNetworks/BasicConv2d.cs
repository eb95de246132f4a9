using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>torchvision's Inception BasicConv2d: bias-free convolution, BatchNorm (eps 0.001), ReLU.</summary>
public sealed class BasicConv2d : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // PyTorch attribute names, so state_dict() keys match the checkpoint.
    readonly Conv2d conv;
    readonly BatchNorm2d bn;
#pragma warning restore IDE1006

    public BasicConv2d(long inChannels, long outChannels, (long, long) kernelSize, (long, long)? stride = null, (long, long)? padding = null)
        : base(nameof(BasicConv2d))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride ?? (1, 1), padding: padding ?? (0, 0), bias: false);
        bn = nn.BatchNorm2d(outChannels, eps: 0.001);
        RegisterComponents();
    }

    public BasicConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding))
    {
    }

    public override Tensor forward(Tensor x)
    {
        using var convolved = conv.forward(x);
        using var normed = bn.forward(convolved);
        return nn.functional.relu(normed);
    }
}
