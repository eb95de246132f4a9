using SeLoRA.Diffusion.Loading;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Clip;

/// <summary>
/// transformers' CLIPTextModel (SD1.5's text encoder). state_dict() keys are exactly upstream's <c>text_model.*</c>
/// names; position_ids is a non-persistent buffer, so it is not among them.
/// </summary>
public sealed class ClipTextModel : nn.Module<Tensor, Tensor>
{
    /// <summary>The buffer older checkpoints (SD1.5's among them) still store; loading accepts and ignores it (IgnoredBufferKeys).</summary>
    public const string PositionIdsKey = "text_model.embeddings.position_ids";

#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    ClipTextTransformer text_model;
#pragma warning restore IDE1006

    public ClipTextModel(ClipTextConfig config) : base(nameof(ClipTextModel))
    {
        TorchRuntime.EnsureLoaded();
        text_model = new ClipTextTransformer(config);
        RegisterComponents();
    }

    public ClipTextConfig Config => text_model.Config;

    public ClipTextTransformer TextModel => text_model;

    /// <summary>[batch, seq] token ids -> last_hidden_state [batch, seq, hidden], what the SD pipeline conditions on.</summary>
    public override Tensor forward(Tensor inputIds) => text_model.forward(inputIds);

    /// <inheritdoc cref="ClipTextTransformer.Forward"/>
    public ClipTextOutput Forward(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false)
        => text_model.Forward(inputIds, attentionMask, outputHiddenStates);

    /// <summary>Builds the model from a transformers folder holding config.json and its weights, loaded strictly.</summary>
    public static ClipTextModel FromPretrained(string folder, LoadOptions? options = null)
    {
        var model = new ClipTextModel(ClipTextConfig.FromJson(Path.Combine(folder, ComponentWeights.ConfigFileName)));
        try
        {
            ComponentWeights.LoadInto(folder, model, options);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
