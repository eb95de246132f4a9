using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Torch;
using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// transformers' CLIPVisionTransformer: embeddings, pre_layrnorm (upstream's spelling, kept for the state_dict keys),
/// the CLIP encoder with no attention mask, and post_layernorm of the class token as the pooled output.
/// </summary>
public sealed class ClipVisionTransformer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    ClipVisionEmbeddings embeddings;
    LayerNorm pre_layrnorm;
    ClipEncoder encoder;
    LayerNorm post_layernorm;
#pragma warning restore IDE1006

    public ClipVisionTransformer(ClipVisionConfig config) : base(nameof(ClipVisionTransformer))
    {
        TorchRuntime.EnsureLoaded();
        config.Validate();
        Config = config;
        embeddings = new ClipVisionEmbeddings(config);
        pre_layrnorm = NormLayers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        encoder = new ClipEncoder(config.ToEncoderConfig());
        post_layernorm = NormLayers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public ClipVisionConfig Config { get; }

    public ClipVisionEmbeddings Embeddings => embeddings;

    /// <summary>[batch, 3, image_size, image_size] normalised pixels -> pooler_output [batch, hidden].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var last = LastHiddenState(pixelValues);
        var pooled = post_layernorm.call(last[.., 0, ..]);
        return scope.MoveToOuter(pooled);
    }

    /// <summary>last_hidden_state [batch, 1 + patches, hidden]: the encoder output (no final norm, as upstream).</summary>
    public Tensor LastHiddenState(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var hidden = pre_layrnorm.call(embeddings.call(pixelValues));
        // Every token attends to every token: no causal or padding mask in the vision tower.
        var last = encoder.call(hidden, null);
        return scope.MoveToOuter(last);
    }
}
