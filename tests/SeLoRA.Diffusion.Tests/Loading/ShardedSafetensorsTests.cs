using SeLoRA.Torch.Safetensors;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Loading;

public sealed class ShardedSafetensorsTests
{
    static Dictionary<string, Tensor> Tensors()
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(3);
        return Enumerable.Range(0, 6).ToDictionary(i => $"block.{i}.weight", i => torch.randn(8, 8));
    }

    [Fact]
    public void Sharded_save_then_load_gives_every_tensor()
    {
        using var folder = new TempFolder();
        var tensors = Tensors();
        var index = ShardedSafetensors.Save(folder.Path, "diffusion_pytorch_model", tensors, maxShardBytes: 600);
        Assert.EndsWith("diffusion_pytorch_model.safetensors.index.json", index);
        var shards = ShardedSafetensors.ReadWeightMap(index).Values.Distinct().ToList();
        Assert.Equal(3, shards.Count); // 256 bytes per tensor, two per 600-byte shard
        var back = ShardedSafetensors.Load(index);
        foreach (var (k, v) in tensors) TensorAssert.Equal(v, back[k], k);
        TensorAssert.Dispose(tensors.Values.Concat(back.Values));
    }

    [Fact]
    public void Missing_shard_is_named_with_the_index()
    {
        using var folder = new TempFolder();
        var tensors = Tensors();
        var index = ShardedSafetensors.Save(folder.Path, "model", tensors, maxShardBytes: 600);
        var shard = ShardedSafetensors.ReadWeightMap(index)["block.3.weight"];
        File.Delete(folder.File(shard));
        var e = Assert.Throws<WeightFileException>(() => ShardedSafetensors.Load(index));
        Assert.Contains(index, e.Message);
        Assert.Contains(shard, e.Message);
        TensorAssert.Dispose(tensors.Values);
    }

    [Fact]
    public void Weight_map_entry_absent_from_its_shard_is_named()
    {
        using var folder = new TempFolder();
        var tensors = Tensors();
        var index = ShardedSafetensors.Save(folder.Path, "model", tensors, maxShardBytes: 600);
        var text = File.ReadAllText(index).Replace("\"block.0.weight\"", "\"block.0.renamed\"");
        File.WriteAllText(index, text);
        var e = Assert.Throws<WeightFileException>(() => ShardedSafetensors.Load(index));
        Assert.Contains("block.0.renamed", e.Message);
        Assert.Contains(index, e.Message);
        TensorAssert.Dispose(tensors.Values);
    }
}
