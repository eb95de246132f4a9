using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.ClipScore;

/// <summary>
/// torchmetrics' CLIP score from embeddings: each pair scores 100 * cosine(image, text); the score is the mean over pairs,
/// clamped at 0. torchmetrics' docstring writes max(100 cos, 0) per pair, but its code (functional clip_score and the
/// CLIPScore metric, which keeps a running sum and count) clamps only the mean; this follows the code.
/// </summary>
public static class ClipScoreMath
{
    /// <summary>The score of matching rows of image and text embeddings [n, d] (any float dtype, any device).</summary>
    public static ClipScoreResult Compute(Tensor imageEmbeddings, Tensor textEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(imageEmbeddings);
        ArgumentNullException.ThrowIfNull(textEmbeddings);
        TorchRuntime.EnsureLoaded();
        if (imageEmbeddings.ndim != 2 || textEmbeddings.ndim != 2)
            throw new ArgumentException(
                $"embeddings must be [n, d]; got image [{string.Join(", ", imageEmbeddings.shape)}] and text [{string.Join(", ", textEmbeddings.shape)}]");
        if (imageEmbeddings.shape[0] != textEmbeddings.shape[0])
            throw new ArgumentException($"expected as many images as texts; got {imageEmbeddings.shape[0]} images and {textEmbeddings.shape[0]} texts");
        if (imageEmbeddings.shape[1] != textEmbeddings.shape[1])
            throw new ArgumentException($"image embeddings have dimension {imageEmbeddings.shape[1]}, text embeddings {textEmbeddings.shape[1]}; they must share CLIP's projection space");
        if (imageEmbeddings.shape[0] == 0) throw new ArgumentException("no image-text pairs to score");

        using var scope = NewDisposeScope();
        var image = imageEmbeddings.detach().to(ScalarType.Float64, CPU);
        var text = textEmbeddings.detach().to(ScalarType.Float64, CPU);
        if (!image.isfinite().all().item<bool>()) throw new ArgumentException("image embeddings contain NaN or infinite values");
        if (!text.isfinite().all().item<bool>()) throw new ArgumentException("text embeddings contain NaN or infinite values");
        var imageNorm = image.norm(1, true, 2);
        var textNorm = text.norm(1, true, 2);
        RequireNonZero(imageNorm, "image");
        RequireNonZero(textNorm, "text");
        var perSample = ((image / imageNorm) * (text / textNorm)).sum(1) * 100.0;
        var values = perSample.data<double>().ToArray();
        return new ClipScoreResult(Aggregate(values), values);
    }

    /// <summary>max(mean, 0) of per-pair scores, e.g. gathered over several batches.</summary>
    public static double Aggregate(IReadOnlyCollection<double> perSample)
    {
        ArgumentNullException.ThrowIfNull(perSample);
        if (perSample.Count == 0) throw new ArgumentException("no per-pair scores to average", nameof(perSample));
        return Math.Max(perSample.Average(), 0.0);
    }

    static void RequireNonZero(Tensor norms, string what)
    {
        var zero = (norms == 0).nonzero();
        if (zero.shape[0] > 0)
            throw new ArgumentException($"{what} embedding {zero[0, 0].item<long>()} is all zeros; its cosine is undefined");
    }
}
