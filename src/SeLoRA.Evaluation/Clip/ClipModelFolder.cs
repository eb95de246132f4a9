using System.Text.Json;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// Writes a randomly initialised CLIPModel folder in exactly the Hugging Face layout (config.json, model.safetensors
/// with transformers' key names, vocab.json + merges.txt + tokenizer_config.json + special_tokens_map.json,
/// preprocessor_config.json), so tests and offline users have a CLIP that <see cref="ClipScorer.Load"/> reads.
/// Its scores mean nothing; only the plumbing is real.
/// </summary>
public static class ClipModelFolder
{
    /// <summary>A small corpus for the tiny BPE vocabulary (any text tokenizes: unmerged bytes are in the vocabulary).</summary>
    static readonly string[] Corpus =
    [
        "a photo of a cat", "a photo of a dog", "a chest x-ray", "no acute cardiopulmonary abnormality",
        "small left pleural effusion", "cardiomegaly", "a red square on a white background",
    ];

    /// <summary>
    /// Two layers per tower, width 32, 4 heads, 32x32 images in 8x8 patches, 16-dimensional projection. The text
    /// vocabulary fields are replaced by those of the vocabulary <see cref="SaveRandom"/> learns.
    /// </summary>
    public static ClipConfig TinyConfig { get; } = new()
    {
        TextConfig = new ClipTextConfig
        {
            HiddenSize = 32, IntermediateSize = 37, NumHiddenLayers = 2, NumAttentionHeads = 4, MaxPositionEmbeddings = 77,
        },
        VisionConfig = new ClipVisionConfig
        {
            HiddenSize = 32, IntermediateSize = 37, NumHiddenLayers = 2, NumAttentionHeads = 4, ImageSize = 32, PatchSize = 8,
            ProjectionDim = 16,
        },
        ProjectionDim = 16,
    };

    /// <summary>
    /// A CLIPModel with seeded random weights: PyTorch's default initialisation for linear and convolution layers,
    /// N(0, 0.02) embeddings, N(0, hidden^-0.5) class token, logit_scale at its init value.
    /// </summary>
    public static ClipModel CreateRandom(ClipConfig config, long seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        TorchRuntime.EnsureLoaded();
        manual_seed(seed);
        var model = new ClipModel(config);
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (name.EndsWith("embedding.weight", StringComparison.Ordinal)) parameter.normal_(0, 0.02);
                else if (name.EndsWith("class_embedding", StringComparison.Ordinal)) parameter.normal_(0, Math.Pow(config.VisionConfig.HiddenSize, -0.5));
            }
        }
        model.eval();
        return model;
    }

    /// <summary>
    /// Learns a small tokenizer, fits the text config's vocab_size and special ids to it, and writes the whole folder.
    /// Returns the config written (read it back with <see cref="ClipConfig.FromJson(string)"/> for the same values).
    /// </summary>
    /// <param name="config">Model dimensions; <see cref="TinyConfig"/> when null.</param>
    /// <param name="merges">BPE merges of the learned vocabulary.</param>
    public static ClipConfig SaveRandom(string folder, ClipConfig? config = null, long seed = 0, int merges = 64)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var vocabulary = ClipVocabularyBuilder.Learn(Corpus, merges);
        var fitted = FitToVocabulary(config ?? TinyConfig, vocabulary);
        Directory.CreateDirectory(folder);
        ClipVocabularyBuilder.WriteFolder(vocabulary, folder, (int)fitted.TextConfig.MaxPositionEmbeddings);
        var image = (int)fitted.VisionConfig.ImageSize;
        var processor = ClipImageProcessorConfig.Default with { ShortestEdge = image, CropHeight = image, CropWidth = image };
        File.WriteAllText(Path.Combine(folder, ClipImageProcessorConfig.FileName),
            processor.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        using var model = CreateRandom(fitted, seed);
        ComponentWeights.Save(folder, fitted.ToJson(), model, new SaveOptions { WeightsName = WeightFiles.TransformersWeightsName });
        return fitted;
    }

    /// <summary>The config with vocab_size, bos/eos/pad ids taken from <paramref name="vocabulary"/> (pad = EOS, as OpenAI's).</summary>
    public static ClipConfig FitToVocabulary(ClipConfig config, ClipVocabularyBuilder.Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(vocabulary);
        return config with
        {
            TextConfig = config.TextConfig with
            {
                VocabSize = vocabulary.Tokens.Count,
                BosTokenId = vocabulary.BosId,
                EosTokenId = vocabulary.EosId,
                PadTokenId = vocabulary.EosId,
            },
        };
    }
}
