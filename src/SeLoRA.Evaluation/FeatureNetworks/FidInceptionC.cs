using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>pytorch-fid's FIDInceptionC (torchvision InceptionC whose average pool excludes the zero padding).</summary>
public sealed class FidInceptionC : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    readonly BasicConv2d branch1x1;
    readonly BasicConv2d branch7x7_1;
    readonly BasicConv2d branch7x7_2;
    readonly BasicConv2d branch7x7_3;
    readonly BasicConv2d branch7x7dbl_1;
    readonly BasicConv2d branch7x7dbl_2;
    readonly BasicConv2d branch7x7dbl_3;
    readonly BasicConv2d branch7x7dbl_4;
    readonly BasicConv2d branch7x7dbl_5;
    readonly BasicConv2d branch_pool;
#pragma warning restore IDE1006

    public FidInceptionC(long inChannels, long channels7x7) : base(nameof(FidInceptionC))
    {
        var c7 = channels7x7;
        branch1x1 = new BasicConv2d(inChannels, 192, 1);
        branch7x7_1 = new BasicConv2d(inChannels, c7, 1);
        branch7x7_2 = new BasicConv2d(c7, c7, (1, 7), padding: (0, 3));
        branch7x7_3 = new BasicConv2d(c7, 192, (7, 1), padding: (3, 0));
        branch7x7dbl_1 = new BasicConv2d(inChannels, c7, 1);
        branch7x7dbl_2 = new BasicConv2d(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_3 = new BasicConv2d(c7, c7, (1, 7), padding: (0, 3));
        branch7x7dbl_4 = new BasicConv2d(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_5 = new BasicConv2d(c7, 192, (1, 7), padding: (0, 3));
        branch_pool = new BasicConv2d(inChannels, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.forward(x);
        var b7 = branch7x7_3.forward(branch7x7_2.forward(branch7x7_1.forward(x)));
        var b7dbl = branch7x7dbl_1.forward(x);
        b7dbl = branch7x7dbl_2.forward(b7dbl);
        b7dbl = branch7x7dbl_3.forward(b7dbl);
        b7dbl = branch7x7dbl_4.forward(b7dbl);
        b7dbl = branch7x7dbl_5.forward(b7dbl);
        var bp = branch_pool.forward(InceptionPooling.AvgPool3x3ExcludePad(x));
        return scope.MoveToOuter(cat(new[] { b1, b7, b7dbl, bp }, 1));
    }
}
