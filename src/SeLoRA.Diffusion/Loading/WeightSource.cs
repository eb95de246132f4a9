using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>The weights found in a component folder: one safetensors file, or a shard index.</summary>
public sealed record WeightSource(string Path, bool IsShardIndex)
{
    /// <summary>Loads every tensor (stored dtype, CPU). The caller owns and disposes the tensors.</summary>
    public Dictionary<string, Tensor> Load(Func<string, bool>? include = null) =>
        IsShardIndex ? ShardedSafetensors.Load(Path, include) : SafetensorsFile.Load(Path, include);
}
