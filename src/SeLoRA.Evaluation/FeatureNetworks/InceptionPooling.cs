using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>The pooling variants the Inception blocks use.</summary>
static class InceptionPooling
{
    /// <summary>3x3, stride 1, padding 1, count_include_pad=False: TensorFlow's average pool, pytorch-fid's patch.</summary>
    public static Tensor AvgPool3x3ExcludePad(Tensor x) =>
        nn.functional.avg_pool2d(x, new long[] { 3, 3 }, new long[] { 1, 1 }, new long[] { 1, 1 }, ceil_mode: false, count_include_pad: false);

    /// <summary>3x3, stride 1, padding 1 max pool: FIDInceptionE_2's patch.</summary>
    public static Tensor MaxPool3x3Same(Tensor x) =>
        nn.functional.max_pool2d(x, new long[] { 3, 3 }, new long[] { 1, 1 }, new long[] { 1, 1 });

    /// <summary>3x3, stride 2, no padding max pool: the stem and the reduction blocks (B, D).</summary>
    public static Tensor MaxPool3x3Stride2(Tensor x) =>
        nn.functional.max_pool2d(x, new long[] { 3, 3 }, new long[] { 2, 2 });
}
