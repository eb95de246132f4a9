using System.Text.Json;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Evaluation.Clip;
using SeLoRA.TestSupport;
using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Clip;

public sealed class ClipModelTests : IDisposable
{
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    readonly string _dir = Directory.CreateTempSubdirectory("selora-clip-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WeightsPath => Path.Combine(_dir, "model.safetensors");

    [Fact]
    public void SavedTinyModelReloadsWithBitIdenticalFeatures()
    {
        var config = ClipModelFolder.SaveRandom(_dir, seed: 3);
        Assert.Equal(config, ClipConfig.FromJson(Path.Combine(_dir, "config.json")));

        using var reference = ClipModelFolder.CreateRandom(config, seed: 3);
        using var loaded = ClipModel.FromPretrained(_dir);
        manual_seed(11);
        using var pixels = randn(2, 3, 32, 32);
        var bos = config.TextConfig.BosTokenId;
        var eos = config.TextConfig.EosTokenId;
        using var ids = tensor(new[] { bos, 40, 41, 42, eos, eos, bos, 300, eos, eos, eos, eos }, [2, 6]);
        using (no_grad())
        {
            using var imageA = reference.GetImageFeatures(pixels);
            using var imageB = loaded.GetImageFeatures(pixels);
            using var textA = reference.GetTextFeatures(ids);
            using var textB = loaded.GetTextFeatures(ids);
            Assert.Equal([2, 16], imageA.shape);
            Assert.Equal([2, 16], textA.shape);
            Assert.True(Same(imageA, imageB));
            Assert.True(Same(textA, textB));
            // Different seeds give different weights, so the comparison above could fail.
            using var other = ClipModelFolder.CreateRandom(config, seed: 4);
            using var imageC = other.GetImageFeatures(pixels);
            Assert.False(Same(imageA, imageC));
        }
        Assert.Equal(config.LogitScaleInitValue, loaded.LogitScale.item<float>(), 1e-6);
    }

    [Fact]
    public void SavedKeysAreTransformersClipModelKeys()
    {
        ClipModelFolder.SaveRandom(_dir, seed: 1);
        // transformers' CLIPModel with two layers per tower; position_ids are non-persistent buffers there (not saved).
        var expected = new List<string>
        {
            "logit_scale",
            "text_projection.weight",
            "visual_projection.weight",
            "text_model.embeddings.token_embedding.weight",
            "text_model.embeddings.position_embedding.weight",
            "text_model.final_layer_norm.weight",
            "text_model.final_layer_norm.bias",
            "vision_model.embeddings.class_embedding",
            "vision_model.embeddings.patch_embedding.weight",
            "vision_model.embeddings.position_embedding.weight",
            "vision_model.pre_layrnorm.weight",
            "vision_model.pre_layrnorm.bias",
            "vision_model.post_layernorm.weight",
            "vision_model.post_layernorm.bias",
        };
        foreach (var tower in new[] { "text_model", "vision_model" })
            for (var layer = 0; layer < 2; layer++)
                foreach (var module in new[] { "self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj", "self_attn.out_proj",
                             "layer_norm1", "mlp.fc1", "mlp.fc2", "layer_norm2" })
                    foreach (var tensorName in new[] { "weight", "bias" })
                        expected.Add($"{tower}.encoder.layers.{layer}.{module}.{tensorName}");

        var header = SafetensorsFile.ReadHeader(WeightsPath);
        Assert.Equal(expected.Order(StringComparer.Ordinal), header.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Empty(header.Find("logit_scale")!.Shape);
        Assert.Equal([32L], header.Find("vision_model.embeddings.class_embedding")!.Shape);
        Assert.Equal([32L, 3, 8, 8], header.Find("vision_model.embeddings.patch_embedding.weight")!.Shape);
        Assert.Equal([17L, 32], header.Find("vision_model.embeddings.position_embedding.weight")!.Shape);
        Assert.Equal([16L, 32], header.Find("visual_projection.weight")!.Shape);
        Assert.Equal([16L, 32], header.Find("text_projection.weight")!.Shape);
        Assert.Equal("CLIPModel", JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "config.json"))).RootElement
            .GetProperty("architectures")[0].GetString());
    }

    [Fact]
    public void LoadingIsStrictAndNamesKeyAndFile()
    {
        ClipModelFolder.SaveRandom(_dir, seed: 2);
        var original = SafetensorsFile.Load(WeightsPath);
        try
        {
            void Write(Action<Dictionary<string, Tensor>> edit)
            {
                var copy = new Dictionary<string, Tensor>(original, StringComparer.Ordinal);
                edit(copy);
                SafetensorsFile.Save(WeightsPath, copy);
            }

            Write(d => d.Remove("vision_model.post_layernorm.bias"));
            var missing = Assert.Throws<StateDictMismatchException>(() => ClipModel.FromPretrained(_dir));
            Assert.Contains("vision_model.post_layernorm.bias", missing.Message);
            Assert.Contains(WeightsPath, missing.Message);

            using var extra = zeros(3);
            Write(d => d["vision_model.extra.weight"] = extra);
            var unexpected = Assert.Throws<StateDictMismatchException>(() => ClipModel.FromPretrained(_dir));
            Assert.Contains("vision_model.extra.weight", unexpected.Message);

            using var wrong = zeros(16, 31);
            Write(d => d["visual_projection.weight"] = wrong);
            var shape = Assert.Throws<StateDictMismatchException>(() => ClipModel.FromPretrained(_dir));
            Assert.Contains("visual_projection.weight", shape.Message);
            Assert.Contains("[16, 31]", shape.Message);

            // 2022-era files (openai's among them) still store both towers' position_ids: accepted and ignored.
            using var textIds = arange(77, dtype: ScalarType.Int64).unsqueeze(0);
            using var visionIds = arange(17, dtype: ScalarType.Int64).unsqueeze(0);
            Write(d =>
            {
                d["text_model.embeddings.position_ids"] = textIds;
                d["vision_model.embeddings.position_ids"] = visionIds;
            });
            using var model = ClipModel.FromPretrained(_dir);
        }
        finally
        {
            foreach (var t in original.Values) t.Dispose();
        }
    }

    [Fact]
    public void ShardedSafetensorsLoadLikeOneFile()
    {
        var config = ClipModelFolder.SaveRandom(_dir, seed: 5);
        using var reference = ClipModel.FromPretrained(_dir);
        File.Delete(WeightsPath);
        var index = ComponentWeights.SaveWeights(_dir, reference, new SaveOptions { WeightsName = "model", MaxShardBytes = 20_000 });
        Assert.EndsWith("model.safetensors.index.json", index);
        Assert.True(Directory.GetFiles(_dir, "model-0000*-of-*.safetensors").Length > 1);

        using var sharded = ClipModel.FromPretrained(_dir);
        manual_seed(2);
        using var pixels = randn(1, 3, 32, 32);
        using var a = reference.GetImageFeatures(pixels);
        using var b = sharded.GetImageFeatures(pixels);
        Assert.True(Same(a, b));
        Assert.Equal(config, sharded.Config);
    }

    [Fact]
    public void PickledWeightsAreRefusedWithAClearMessage()
    {
        ClipModelFolder.SaveRandom(_dir, seed: 0);
        File.Delete(WeightsPath);
        File.WriteAllBytes(Path.Combine(_dir, "pytorch_model.bin"), [0x80, 0x02]);
        var error = Assert.Throws<NotSupportedException>(() => ClipModel.FromPretrained(_dir));
        Assert.Contains("pytorch_model.bin", error.Message);
        Assert.Contains("safetensors", error.Message);
    }

    [Fact]
    public void ReadsTheOpenAiLargePatch14Config()
    {
        // The fields of openai/clip-vit-large-patch14's config.json that shape the model (legacy ids: bos 0, eos 2).
        const string json = """
        {
          "architectures": ["CLIPModel"], "logit_scale_init_value": 2.6592, "model_type": "clip", "projection_dim": 768,
          "text_config": { "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768,
            "intermediate_size": 3072, "max_position_embeddings": 77, "num_attention_heads": 12, "num_hidden_layers": 12,
            "pad_token_id": 1, "projection_dim": 768, "vocab_size": 49408, "layer_norm_eps": 1e-05 },
          "vision_config": { "hidden_act": "quick_gelu", "hidden_size": 1024, "image_size": 224, "intermediate_size": 4096,
            "num_attention_heads": 16, "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768, "layer_norm_eps": 1e-05 }
        }
        """;
        using var document = JsonDocument.Parse(json);
        var config = ClipConfig.FromJson(document.RootElement);
        Assert.Equal(768, config.ProjectionDim);
        Assert.Equal(2.6592, config.LogitScaleInitValue);
        Assert.Equal(768, config.TextConfig.HiddenSize);
        Assert.True(config.TextConfig.UsesLegacyEosPooling);
        Assert.Equal(1024, config.VisionConfig.HiddenSize);
        Assert.Equal(4096, config.VisionConfig.IntermediateSize);
        Assert.Equal(24, config.VisionConfig.NumHiddenLayers);
        Assert.Equal(16, config.VisionConfig.NumAttentionHeads);
        Assert.Equal(14, config.VisionConfig.PatchSize);
        Assert.Equal(16 * 16 + 1, config.VisionConfig.NumPositions);

        // Absent fields take transformers' defaults (the ViT-B/32 vision tower, projection 512).
        using var sparse = JsonDocument.Parse("""{ "text_config": {}, "vision_config": {} }""");
        var defaults = ClipConfig.FromJson(sparse.RootElement);
        Assert.Equal(new ClipVisionConfig(), defaults.VisionConfig);
        Assert.Equal((768L, 3072L, 12, 12L, 224L, 32L), (defaults.VisionConfig.HiddenSize, defaults.VisionConfig.IntermediateSize,
            defaults.VisionConfig.NumHiddenLayers, defaults.VisionConfig.NumAttentionHeads, defaults.VisionConfig.ImageSize,
            defaults.VisionConfig.PatchSize));
        Assert.Equal(512, defaults.ProjectionDim);
        Assert.Equal(2.6592, defaults.LogitScaleInitValue);

        using var textOnly = JsonDocument.Parse("""{ "hidden_size": 32 }""");
        Assert.Contains("vision_config", Assert.Throws<FormatException>(() => ClipConfig.FromJson(textOnly.RootElement)).Message);
    }

    [Fact]
    public void TextFeaturesPoolTheReferenceTextTowerAtTheFirstEos()
    {
        // tiny_clip_text: a text tower whose last_hidden_state was computed with openai/CLIP's own code.
        var folder = RepoPaths.RequireShared("fixtures/tiny-sd-models/tiny_clip_text");
        var textConfig = ClipTextConfig.FromJson(Path.Combine(folder, "config.json"));
        var config = new ClipConfig
        {
            TextConfig = textConfig,
            VisionConfig = ClipModelFolder.TinyConfig.VisionConfig,
            ProjectionDim = textConfig.HiddenSize,
        };
        using var model = new ClipModel(config);
        var weights = SafetensorsFile.Load(Path.Combine(folder, "model.safetensors"));
        var io = SafetensorsFile.Load(Path.Combine(folder, "reference_io.safetensors"));
        try
        {
            var text = weights.Where(kv => kv.Key.StartsWith("text_model.", StringComparison.Ordinal) && !kv.Key.EndsWith("position_ids", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key["text_model.".Length..], kv => kv.Value);
            StateDictLoader.Load(model.TextModel, text, source: folder);
            using (no_grad())
            {
                using var identity = eye(textConfig.HiddenSize);
                model.TextProjection.weight!.copy_(identity);
            }
            using var features = model.GetTextFeatures(io["input.input_ids"]);
            var last = io["output.last_hidden_state"];
            // eos 999 is not the legacy 2: pooling takes the first EOS, position 5 in row 0, 1 in row 1 (pad = eos).
            using var expected = stack([last[0, 5], last[1, 1]], 0);
            Assert.True(features.allclose(expected, rtol: 0, atol: 1e-4), $"max |diff| {(features - expected).abs().max().item<float>()}");
        }
        finally
        {
            foreach (var t in weights.Values.Concat(io.Values)) t.Dispose();
        }
    }
}
