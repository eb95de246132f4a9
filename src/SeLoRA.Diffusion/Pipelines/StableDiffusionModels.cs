using SeLoRA.Torch.Safetensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Models.Vae;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Pipelines;

/// <summary>
/// The parts of a Stable Diffusion pipeline folder: tokenizer, text encoder, U-Net, VAE and the scheduler's config,
/// with the config.json each model was built from, so the set can be saved back in the same layout.
/// </summary>
public sealed class StableDiffusionModels : IDisposable
{
    public const string PipelineClassName = "StableDiffusionPipeline";

    readonly IReadOnlyDictionary<string, JsonObject> _configs;

    public ClipTokenizer Tokenizer { get; }
    public ClipTextModel TextEncoder { get; }
    public Unet2DConditionModel Unet { get; }
    public AutoencoderKl Vae { get; }

    /// <summary>The folder the tokenizer files were read from (copied on save).</summary>
    public string TokenizerFolder { get; }

    /// <summary>scheduler_config.json as read or preset.</summary>
    public JsonObject SchedulerConfig => (JsonObject)_configs["scheduler"].DeepClone();

    public JsonObject ComponentConfig(string component) => (JsonObject)_configs[component].DeepClone();

    StableDiffusionModels(ClipTokenizer tokenizer, string tokenizerFolder, ClipTextModel textEncoder, Unet2DConditionModel unet,
        AutoencoderKl vae, IReadOnlyDictionary<string, JsonObject> configs)
    {
        Tokenizer = tokenizer;
        TokenizerFolder = tokenizerFolder;
        TextEncoder = textEncoder;
        Unet = unet;
        Vae = vae;
        _configs = configs;
    }

    /// <summary>Loads a diffusers folder (model_index.json, tokenizer/, text_encoder/, unet/, vae/, scheduler/), strictly by default.</summary>
    public static StableDiffusionModels Load(string folder, LoadOptions? options = null)
    {
        TorchRuntime.EnsureLoaded();
        var pipeline = DiffusersFolder.Open(folder);
        foreach (var component in new[] { "tokenizer", "text_encoder", "unet", "vae", "scheduler" })
            if (!pipeline.HasComponent(component))
                throw new WeightFileException($"{pipeline.ModelIndexPath}: no \"{component}\" component; a Stable Diffusion folder needs " +
                                              "tokenizer, text_encoder, unet, vae and scheduler.");
        var configs = new Dictionary<string, JsonObject>
        {
            ["text_encoder"] = ReadObject(pipeline.ReadConfig("text_encoder")),
            ["unet"] = ReadObject(pipeline.ReadConfig("unet")),
            ["vae"] = ReadObject(pipeline.ReadConfig("vae")),
            ["scheduler"] = ReadObject(pipeline.ReadConfig("scheduler")),
        };
        var tokenizer = ClipTokenizer.FromFolder(pipeline.TokenizerFolder);
        var built = Build(tokenizer, pipeline.TokenizerFolder, configs, device: null);
        try
        {
            pipeline.LoadInto("text_encoder", built.TextEncoder, options);
            pipeline.LoadInto("unet", built.Unet, options);
            pipeline.LoadInto("vae", built.Vae, options);
            return built;
        }
        catch
        {
            built.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A freshly initialised model of a preset architecture (see <see cref="ModelPresets"/>), seeded. The text encoder's
    /// vocabulary and special ids follow the tokenizer, so a small project-made vocabulary can drive the tiny model.
    /// </summary>
    public static StableDiffusionModels Create(string preset, string tokenizerFolder, long seed, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        var tokenizer = ClipTokenizer.FromFolder(tokenizerFolder);
        var text = ModelPresets.Config(preset, "text_encoder");
        if (preset.Equals(ModelPresets.Tiny, StringComparison.OrdinalIgnoreCase))
        {
            text["vocab_size"] = tokenizer.VocabSize;
            text["bos_token_id"] = tokenizer.BosId;
            text["eos_token_id"] = tokenizer.EosId;
            text["pad_token_id"] = tokenizer.PadId;
        }
        else if (text["vocab_size"]!.GetValue<int>() != tokenizer.VocabSize)
        {
            throw new ArgumentException($"{tokenizerFolder}: the {preset} text encoder needs a vocabulary of {text["vocab_size"]} tokens, " +
                                        $"this tokenizer has {tokenizer.VocabSize}.");
        }
        var configs = new Dictionary<string, JsonObject>
        {
            ["text_encoder"] = text,
            ["unet"] = ModelPresets.Config(preset, "unet"),
            ["vae"] = ModelPresets.Config(preset, "vae"),
            ["scheduler"] = ModelPresets.Config(preset, "scheduler"),
        };
        manual_seed(seed);
        return Build(tokenizer, tokenizerFolder, configs, device);
    }

    static StableDiffusionModels Build(ClipTokenizer tokenizer, string tokenizerFolder, Dictionary<string, JsonObject> configs, Device? device)
    {
        var textConfig = ClipTextConfig.FromJson(JsonSerializer.SerializeToElement(configs["text_encoder"]), "text_encoder/config.json");
        if (textConfig.VocabSize != tokenizer.VocabSize)
            throw new ArgumentException($"text_encoder/config.json: vocab_size {textConfig.VocabSize} does not match the tokenizer's " +
                                        $"{tokenizer.VocabSize} tokens in {tokenizerFolder}.");
        var unetConfig = Unet2DConditionConfig.FromJson(JsonSerializer.SerializeToElement(configs["unet"]), "unet/config.json");
        var vaeConfig = AutoencoderKlConfig.FromJson(JsonSerializer.SerializeToElement(configs["vae"]), "vae/config.json");
        if (unetConfig.CrossAttentionDim.Any(d => d != textConfig.HiddenSize))
            throw new ArgumentException($"unet/config.json: cross_attention_dim must equal the text encoder's hidden_size ({textConfig.HiddenSize}).");
        if (unetConfig.InChannels != vaeConfig.LatentChannels)
            throw new ArgumentException($"unet/config.json: in_channels {unetConfig.InChannels} must equal the VAE's latent_channels {vaeConfig.LatentChannels}.");

        var textEncoder = new ClipTextModel(textConfig);
        if (device != null) textEncoder.to(device);
        var unet = new Unet2DConditionModel(unetConfig, device);
        var vae = new AutoencoderKl(vaeConfig, device);
        return new StableDiffusionModels(tokenizer, tokenizerFolder, textEncoder, unet, vae, configs);
    }

    /// <summary>Writes the whole set as a diffusers folder that <see cref="Load"/> reads back.</summary>
    public DiffusersFolder Save(string folder, SaveOptions? options = null) =>
        DiffusersFolder.Save(folder, PipelineClassName,
        [
            new PipelineComponent("tokenizer", "transformers", "CLIPTokenizer") { CopyFilesFrom = TokenizerFolder },
            new PipelineComponent("text_encoder", "transformers", "CLIPTextModel")
                { ConfigJson = _configs["text_encoder"].ToJsonString(), Module = TextEncoder, SaveOptions = options },
            new PipelineComponent("unet", "diffusers", "UNet2DConditionModel")
                { ConfigJson = _configs["unet"].ToJsonString(), Module = Unet, SaveOptions = options },
            new PipelineComponent("vae", "diffusers", "AutoencoderKL")
                { ConfigJson = _configs["vae"].ToJsonString(), Module = Vae, SaveOptions = options },
            new PipelineComponent("scheduler", "diffusers", _configs["scheduler"]["_class_name"]?.GetValue<string>() ?? "PNDMScheduler")
                { ConfigJson = _configs["scheduler"].ToJsonString() },
        ]);

    /// <summary>Moves every model to a device (and optionally a floating dtype).</summary>
    public void To(Device device, ScalarType? dtype = null)
    {
        foreach (var module in new nn.Module[] { TextEncoder, Unet, Vae })
            if (dtype is { } type) module.to(device, type); else module.to(device);
    }

    public void Dispose()
    {
        TextEncoder.Dispose();
        Unet.Dispose();
        Vae.Dispose();
    }

    static JsonObject ReadObject(ComponentConfig config) =>
        JsonNode.Parse(config.Root.GetRawText()) as JsonObject
        ?? throw new FormatException($"{config.Path}: expected a JSON object.");
}
