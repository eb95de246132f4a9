using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>How weights are found, converted and matched to a module.</summary>
public sealed record LoadOptions
{
    /// <summary>Strict, float32, with the standard SD remappers.</summary>
    public static LoadOptions Default { get; } = new();

    /// <summary>Strict: missing or unexpected keys throw. Non-strict: they are returned in the <see cref="LoadReport"/>. Shape mismatches always throw.</summary>
    public bool Strict { get; init; } = true;

    /// <summary>The dtype policy for floating tensors.</summary>
    public FloatStorage FloatStorage { get; init; } = FloatStorage.Convert;

    /// <summary>The floating dtype of <see cref="FloatStorage.Convert"/>, and of trainable tensors under <see cref="FloatStorage.FrozenBFloat16"/>.</summary>
    public ScalarType FloatDType { get; init; } = ScalarType.Float32;

    /// <summary>The weights variant to read, e.g. "fp16" for diffusion_pytorch_model.fp16.safetensors; null for the main file.</summary>
    public string? Variant { get; init; }

    /// <summary>
    /// Applied in order to the file's tensors before they are matched to the module. The defaults only touch names that
    /// cannot match a current module: the deprecated VAE attention names and transformers' saved position_ids.
    /// </summary>
    public IReadOnlyList<IKeyRemapper> KeyRemappers { get; init; } = [LegacyVaeAttentionKeys.Instance, IgnoredBufferKeys.Default];

    /// <summary>The dtype a floating tensor read from disk gets before it is matched to a module (null: keep it).</summary>
    public ScalarType? DictionaryFloatDType => FloatStorage == FloatStorage.Convert ? FloatDType : null;
}
