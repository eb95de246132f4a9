using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// transformers' CLIPModel: text and vision towers, each followed by a bias-free projection into the shared space,
/// and the learned logit_scale. state_dict() keys are exactly upstream's; the towers' position_ids are
/// non-persistent buffers, so they are not among them.
/// </summary>
public sealed class ClipModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch attributes so state_dict keys match
    ClipTextTransformer text_model;
    ClipVisionTransformer vision_model;
    Linear visual_projection;
    Linear text_projection;
    Parameter logit_scale;
#pragma warning restore IDE1006

    public ClipModel(ClipConfig config) : base(nameof(ClipModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        TorchRuntime.EnsureLoaded();
        Config = config;
        text_model = new ClipTextTransformer(config.TextConfig);
        vision_model = new ClipVisionTransformer(config.VisionConfig);
        visual_projection = nn.Linear(config.VisionConfig.HiddenSize, config.ProjectionDim, hasBias: false);
        text_projection = nn.Linear(config.TextConfig.HiddenSize, config.ProjectionDim, hasBias: false);
        logit_scale = new Parameter(tensor((float)config.LogitScaleInitValue));
        RegisterComponents();
    }

    public ClipConfig Config { get; }

    public ClipTextTransformer TextModel => text_model;

    public ClipVisionTransformer VisionModel => vision_model;

    public Linear VisualProjection => visual_projection;

    public Linear TextProjection => text_projection;

    /// <summary>The learned log temperature (a scalar); logits use exp(logit_scale). Not used by the CLIP score.</summary>
    public Parameter LogitScale => logit_scale;

    /// <summary>Image features, as <see cref="GetImageFeatures"/>.</summary>
    public override Tensor forward(Tensor pixelValues) => GetImageFeatures(pixelValues);

    /// <summary>
    /// transformers' get_image_features: visual_projection(pooler_output) [batch, projection_dim], not normalised.
    /// </summary>
    /// <param name="pixelValues">[batch, 3, image_size, image_size] as <see cref="ClipImageProcessor"/> makes them.</param>
    public Tensor GetImageFeatures(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var pooled = vision_model.call(pixelValues);
        return scope.MoveToOuter(visual_projection.call(pooled));
    }

    /// <summary>
    /// transformers' get_text_features: text_projection(pooler_output) [batch, projection_dim], not normalised. The pooled
    /// state is taken at each row's EOS token (see <see cref="ClipTextTransformer"/> for the legacy eos_token_id 2 rule).
    /// </summary>
    /// <param name="inputIds">[batch, seq] token ids, seq at most max_position_embeddings.</param>
    /// <param name="attentionMask">Optional [batch, seq] padding mask (1 = token, 0 = padding).</param>
    public Tensor GetTextFeatures(Tensor inputIds, Tensor? attentionMask = null)
    {
        using var scope = NewDisposeScope();
        using var output = text_model.Forward(inputIds.to(logit_scale.device), attentionMask?.to(logit_scale.device));
        return scope.MoveToOuter(text_projection.call(output.PooledOutput));
    }

    /// <summary>
    /// Builds the model from a transformers folder (config.json of a CLIPModel, model.safetensors or a sharded
    /// model.safetensors.index.json), loaded strictly: a missing or unexpected key or a shape mismatch throws a
    /// <see cref="StateDictMismatchException"/> naming the keys and the file. Pickled pytorch_model.bin is refused.
    /// </summary>
    public static ClipModel FromPretrained(string folder, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"CLIP model folder {folder} does not exist.");
        RefusePickleOnly(folder);
        var model = new ClipModel(ClipConfig.FromJson(Path.Combine(folder, ComponentWeights.ConfigFileName)));
        try
        {
            ComponentWeights.LoadInto(folder, model, LoadOptions.Default);
            model.eval();
            if (device is not null && device.type != DeviceType.CPU) model.to(device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static void RefusePickleOnly(string folder)
    {
        var safetensors = Directory.EnumerateFiles(folder, "*.safetensors").Any()
                          || Directory.EnumerateFiles(folder, "*.safetensors.index*.json").Any();
        if (safetensors) return;
        var pickled = new[] { "pytorch_model.bin", "pytorch_model.bin.index.json" }
            .Where(name => File.Exists(Path.Combine(folder, name))).ToList();
        if (pickled.Count > 0)
            throw new NotSupportedException(
                $"{Path.Combine(folder, pickled[0])}: pickled PyTorch weights are not read (loading them would run arbitrary code). " +
                "Convert the checkpoint to model.safetensors (e.g. transformers' CLIPModel.from_pretrained(...).save_pretrained(folder, " +
                "safe_serialization=True)), or download the model.safetensors the Hugging Face repository also offers.");
    }
}
