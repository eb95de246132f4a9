using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.TestSupport;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models.Clip;

/// <summary>The tiny CLIP text fixture (fixtures/tiny-sd-models/tiny_clip_text, computed with openai/CLIP's code).</summary>
static class TinyClip
{
    public const string Folder = "fixtures/tiny-sd-models/tiny_clip_text";

    /// <summary>The fixture's config.json, written out so tests that need no files still run without the data.</summary>
    public static ClipTextConfig Config { get; } = new()
    {
        VocabSize = 1000,
        HiddenSize = 32,
        IntermediateSize = 128,
        NumHiddenLayers = 3,
        NumAttentionHeads = 4,
        MaxPositionEmbeddings = 77,
        HiddenAct = "quick_gelu",
        LayerNormEps = 1e-5,
        BosTokenId = 998,
        EosTokenId = 999,
        PadTokenId = 999,
    };

    public static string RequireFolder() => RepoPaths.RequireShared(Folder);

    /// <summary>The model loaded strictly from model.safetensors.</summary>
    public static ClipTextModel Load(ClipTextConfig? config = null)
    {
        var folder = RequireFolder();
        var model = new ClipTextModel(config ?? ClipTextConfig.FromJson(Path.Combine(folder, "config.json")));
        ComponentWeights.LoadInto(folder, model);
        model.eval();
        return model;
    }

    /// <summary>input.input_ids [2,77] and output.last_hidden_state [2,77,32]; the caller disposes them.</summary>
    public static (Tensor InputIds, Tensor LastHiddenState) ReferenceIo()
    {
        var stored = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(RequireFolder(), "reference_io.safetensors"));
        return (stored["input.input_ids"], stored["output.last_hidden_state"]);
    }

    /// <summary>Same shape and bit-identical values.</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var same = a.eq(b).all();
        return same.item<bool>();
    }
}
