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
    /// <summary>The buffer older checkpoints (SD1.5's among them) still store; loading accepts and ignores it.</summary>
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

    /// <summary>Builds the model from a transformers folder holding config.json and model.safetensors.</summary>
    public static ClipTextModel FromPretrained(string folder, string weightsFile = "model.safetensors")
    {
        var config = ClipTextConfig.FromJson(Path.Combine(folder, "config.json"));
        var model = new ClipTextModel(config);
        try
        {
            model.LoadSafetensors(Path.Combine(folder, weightsFile));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Loads a safetensors file strictly (see <see cref="LoadWeights"/>).</summary>
    public void LoadSafetensors(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CLIP text encoder weights {path} do not exist.", path);
        var weights = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
        try
        {
            LoadWeights(weights, path);
        }
        finally
        {
            foreach (var tensor in weights.Values) tensor.Dispose();
        }
    }

    /// <summary>
    /// Copies every tensor into the matching parameter, converting dtype and device. Strict: every state_dict key must
    /// be present with its shape and no other key may appear, except <see cref="PositionIdsKey"/>, which is ignored.
    /// </summary>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights, string source = "state dict")
    {
        var target = state_dict();
        var missing = target.Keys.Where(key => !weights.ContainsKey(key)).Order(StringComparer.Ordinal).ToList();
        var unexpected = weights.Keys.Where(key => key != PositionIdsKey && !target.ContainsKey(key)).Order(StringComparer.Ordinal).ToList();
        var mismatched = target
            .Where(pair => weights.TryGetValue(pair.Key, out var stored) && !stored.shape.SequenceEqual(pair.Value.shape))
            .Select(pair => $"{pair.Key} [{string.Join(",", weights[pair.Key].shape)}] (model [{string.Join(",", pair.Value.shape)}])")
            .Order(StringComparer.Ordinal)
            .ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
        {
            var problems = new List<string>();
            if (missing.Count > 0) problems.Add($"missing keys: {string.Join(", ", missing)}");
            if (unexpected.Count > 0) problems.Add($"unexpected keys: {string.Join(", ", unexpected)}");
            if (mismatched.Count > 0) problems.Add($"shape mismatches: {string.Join(", ", mismatched)}");
            throw new InvalidDataException($"{source} does not fit CLIPTextModel: {string.Join("; ", problems)}.");
        }

        using var _ = no_grad();
        foreach (var (key, parameter) in target)
            parameter.copy_(weights[key]);
    }
}
