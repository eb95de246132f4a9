using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>
/// pytorch-fid's FIDInceptionE_1 (<paramref name="maxPool"/> false: average pool without the padding) and
/// FIDInceptionE_2 (<paramref name="maxPool"/> true: the max pool the TensorFlow graph has in Mixed_7c).
/// </summary>
public sealed class FidInceptionE : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    readonly BasicConv2d branch1x1;
    readonly BasicConv2d branch3x3_1;
    readonly BasicConv2d branch3x3_2a;
    readonly BasicConv2d branch3x3_2b;
    readonly BasicConv2d branch3x3dbl_1;
    readonly BasicConv2d branch3x3dbl_2;
    readonly BasicConv2d branch3x3dbl_3a;
    readonly BasicConv2d branch3x3dbl_3b;
    readonly BasicConv2d branch_pool;
#pragma warning restore IDE1006
    readonly bool maxPool;

    /// <param name="maxPool">True for FIDInceptionE_2 (Mixed_7c), false for FIDInceptionE_1 (Mixed_7b).</param>
    public FidInceptionE(long inChannels, bool maxPool) : base(maxPool ? "FidInceptionE_2" : "FidInceptionE_1")
    {
        this.maxPool = maxPool;
        branch1x1 = new BasicConv2d(inChannels, 320, 1);
        branch3x3_1 = new BasicConv2d(inChannels, 384, 1);
        branch3x3_2a = new BasicConv2d(384, 384, (1, 3), padding: (0, 1));
        branch3x3_2b = new BasicConv2d(384, 384, (3, 1), padding: (1, 0));
        branch3x3dbl_1 = new BasicConv2d(inChannels, 448, 1);
        branch3x3dbl_2 = new BasicConv2d(448, 384, 3, padding: 1);
        branch3x3dbl_3a = new BasicConv2d(384, 384, (1, 3), padding: (0, 1));
        branch3x3dbl_3b = new BasicConv2d(384, 384, (3, 1), padding: (1, 0));
        branch_pool = new BasicConv2d(inChannels, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.forward(x);
        var b3in = branch3x3_1.forward(x);
        var b3 = cat(new[] { branch3x3_2a.forward(b3in), branch3x3_2b.forward(b3in) }, 1);
        var b3dblIn = branch3x3dbl_2.forward(branch3x3dbl_1.forward(x));
        var b3dbl = cat(new[] { branch3x3dbl_3a.forward(b3dblIn), branch3x3dbl_3b.forward(b3dblIn) }, 1);
        var pooled = maxPool ? InceptionPooling.MaxPool3x3Same(x) : InceptionPooling.AvgPool3x3ExcludePad(x);
        var bp = branch_pool.forward(pooled);
        return scope.MoveToOuter(cat(new[] { b1, b3, b3dbl, bp }, 1));
    }
}
