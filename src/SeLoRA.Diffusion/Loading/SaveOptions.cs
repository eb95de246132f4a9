using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>How a component's weights are written.</summary>
public sealed record SaveOptions
{
    public static SaveOptions Default { get; } = new();

    /// <summary>"diffusion_pytorch_model" or "model"; null picks from the config (transformers configs → "model").</summary>
    public string? WeightsName { get; init; }

    /// <summary>e.g. "fp16" writes diffusion_pytorch_model.fp16.safetensors.</summary>
    public string? Variant { get; init; }

    /// <summary>Floating tensors are written in this dtype (e.g. Float16 for an fp16 variant); null keeps the module's.</summary>
    public ScalarType? FloatDType { get; init; }

    /// <summary>Write shards of at most this many bytes plus an index; null writes one file.</summary>
    public long? MaxShardBytes { get; init; }
}
