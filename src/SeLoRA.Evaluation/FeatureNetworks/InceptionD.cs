using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>torchvision's InceptionD (Mixed_7a): grid reduction 17x17 to 8x8.</summary>
public sealed class InceptionD : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    readonly BasicConv2d branch3x3_1;
    readonly BasicConv2d branch3x3_2;
    readonly BasicConv2d branch7x7x3_1;
    readonly BasicConv2d branch7x7x3_2;
    readonly BasicConv2d branch7x7x3_3;
    readonly BasicConv2d branch7x7x3_4;
#pragma warning restore IDE1006

    public InceptionD(long inChannels) : base(nameof(InceptionD))
    {
        branch3x3_1 = new BasicConv2d(inChannels, 192, 1);
        branch3x3_2 = new BasicConv2d(192, 320, 3, stride: 2);
        branch7x7x3_1 = new BasicConv2d(inChannels, 192, 1);
        branch7x7x3_2 = new BasicConv2d(192, 192, (1, 7), padding: (0, 3));
        branch7x7x3_3 = new BasicConv2d(192, 192, (7, 1), padding: (3, 0));
        branch7x7x3_4 = new BasicConv2d(192, 192, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b3 = branch3x3_2.forward(branch3x3_1.forward(x));
        var b7 = branch7x7x3_4.forward(branch7x7x3_3.forward(branch7x7x3_2.forward(branch7x7x3_1.forward(x))));
        var bp = InceptionPooling.MaxPool3x3Stride2(x);
        return scope.MoveToOuter(cat(new[] { b3, b7, bp }, 1));
    }
}
