using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>torchvision's InceptionB (Mixed_6a): grid reduction 35x35 to 17x17.</summary>
public sealed class InceptionB : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    readonly BasicConv2d branch3x3;
    readonly BasicConv2d branch3x3dbl_1;
    readonly BasicConv2d branch3x3dbl_2;
    readonly BasicConv2d branch3x3dbl_3;
#pragma warning restore IDE1006

    public InceptionB(long inChannels) : base(nameof(InceptionB))
    {
        branch3x3 = new BasicConv2d(inChannels, 384, 3, stride: 2);
        branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
        branch3x3dbl_2 = new BasicConv2d(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new BasicConv2d(96, 96, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b3 = branch3x3.forward(x);
        var b3dbl = branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x)));
        var bp = InceptionPooling.MaxPool3x3Stride2(x);
        return scope.MoveToOuter(cat(new[] { b3, b3dbl, bp }, 1));
    }
}
