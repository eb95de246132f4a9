using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// transformers' CLIPVisionEmbeddings: a learned class token, then non-overlapping patches projected by a bias-free
/// convolution, plus a learned position embedding per token. Input sizes other than image_size are refused
/// (no interpolate_pos_encoding).
/// </summary>
public sealed class ClipVisionEmbeddings : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    Parameter class_embedding;
    Conv2d patch_embedding;
    Embedding position_embedding;
#pragma warning restore IDE1006

    readonly long imageSize;

    public ClipVisionEmbeddings(ClipVisionConfig config) : base(nameof(ClipVisionEmbeddings))
    {
        imageSize = config.ImageSize;
        // Parameters take over their tensors' handles, so this one is built outside any dispose scope.
        class_embedding = new Parameter(randn(config.HiddenSize));
        patch_embedding = nn.Conv2d(config.NumChannels, config.HiddenSize, kernel_size: config.PatchSize, stride: config.PatchSize, bias: false);
        position_embedding = nn.Embedding(config.NumPositions, config.HiddenSize);
        // Non-persistent, as upstream: absent from state_dict(); files that still carry it have it dropped on load.
        register_buffer("position_ids", arange(config.NumPositions, dtype: ScalarType.Int64).unsqueeze(0), persistent: false);
        RegisterComponents();
    }

    public Parameter ClassEmbedding => class_embedding;

    public Conv2d PatchEmbedding => patch_embedding;

    public Embedding PositionEmbedding => position_embedding;

    /// <summary>[batch, channels, image_size, image_size] -> [batch, 1 + patches, hidden] (class token first).</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        if (pixelValues.dim() != 4 || pixelValues.shape[2] != imageSize || pixelValues.shape[3] != imageSize)
            throw new ArgumentException(
                $"pixel_values must be [batch, channels, {imageSize}, {imageSize}] (the model's image_size), got [{string.Join(", ", pixelValues.shape)}].",
                nameof(pixelValues));
        using var scope = NewDisposeScope();
        var batch = pixelValues.shape[0];
        var weight = patch_embedding.weight!;
        var patches = patch_embedding.call(pixelValues.to(weight.dtype, weight.device)).flatten(2).transpose(1, 2);
        var classEmbeds = class_embedding.expand(batch, 1, -1);
        var embeddings = cat([classEmbeds, patches], 1);
        var positions = position_embedding.call(get_buffer("position_ids")!.to(embeddings.device));
        return scope.MoveToOuter(embeddings + positions);
    }
}
