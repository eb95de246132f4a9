using SeLoRA.Evaluation.Clip;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Clip;

public class ClipVisionTests
{
    static readonly ClipVisionConfig Small = new()
    {
        HiddenSize = 6, IntermediateSize = 7, NumHiddenLayers = 2, NumAttentionHeads = 2, ImageSize = 6, PatchSize = 3,
    };

    [Fact]
    public void EmbeddingsAreClassTokenThenProjectedPatchesPlusPositions()
    {
        manual_seed(5);
        using var embeddings = new ClipVisionEmbeddings(Small);
        using var pixels = randn(2, 3, 6, 6);
        using var output = embeddings.call(pixels);
        Assert.Equal([2L, 5, 6], output.shape);

        // By hand: patch p (row-major over the 2x2 grid) is the dot product of its 3x3x3 pixels with each filter.
        var w = embeddings.PatchEmbedding.weight!.data<float>().ToArray(); // [6, 3, 3, 3]
        var cls = embeddings.ClassEmbedding.data<float>().ToArray();
        var pos = embeddings.PositionEmbedding.weight!.data<float>().ToArray(); // [5, 6]
        var x = pixels.data<float>().ToArray(); // [2, 3, 6, 6]
        var got = output.data<float>().ToArray();
        for (var b = 0; b < 2; b++)
            for (var token = 0; token < 5; token++)
                for (var o = 0; o < 6; o++)
                {
                    double expected;
                    if (token == 0)
                        expected = cls[o];
                    else
                    {
                        int py = (token - 1) / 2, px = (token - 1) % 2;
                        expected = 0;
                        for (var c = 0; c < 3; c++)
                            for (var i = 0; i < 3; i++)
                                for (var j = 0; j < 3; j++)
                                    expected += (double)w[((o * 3 + c) * 3 + i) * 3 + j] * x[((b * 3 + c) * 6 + py * 3 + i) * 6 + px * 3 + j];
                    }
                    expected += pos[token * 6 + o];
                    Assert.Equal(expected, got[(b * 5 + token) * 6 + o], 1e-5);
                }
    }

    [Fact]
    public void ImagesOfAnotherSizeAreRefused()
    {
        using var embeddings = new ClipVisionEmbeddings(Small);
        using var pixels = zeros(1, 3, 9, 9);
        Assert.Contains("image_size", Assert.Throws<ArgumentException>(() => embeddings.call(pixels)).Message);
    }

    [Fact]
    public void TheClassTokenAttendsToEveryPatch()
    {
        // With the text tower's causal mask the class token (position 0) would see only itself, and the pooled output
        // would not depend on the image at all; the vision tower uses no mask.
        manual_seed(8);
        using var tower = new ClipVisionTransformer(Small);
        tower.eval();
        using var pixels = randn(1, 3, 6, 6);
        using var changed = pixels.clone();
        using (no_grad())
        {
            changed[.., .., 3.., 3..].add_(1.0); // only the last patch
            using var a = tower.call(pixels);
            using var b = tower.call(changed);
            Assert.Equal([1L, 6], a.shape);
            Assert.True((a - b).abs().max().item<float>() > 1e-4);

            // pooler_output is post_layernorm of the class token's last hidden state.
            using var last = tower.LastHiddenState(pixels);
            Assert.Equal([1L, 5, 6], last.shape);
            var cls = last[0, 0].data<float>().ToArray();
            var mean = cls.Average(v => (double)v);
            var variance = cls.Average(v => ((double)v - mean) * ((double)v - mean));
            var pooled = a.data<float>().ToArray();
            // Fresh LayerNorm: weight 1, bias 0.
            for (var i = 0; i < 6; i++) Assert.Equal((cls[i] - mean) / Math.Sqrt(variance + 1e-5), pooled[i], 1e-4);
        }
    }
}
