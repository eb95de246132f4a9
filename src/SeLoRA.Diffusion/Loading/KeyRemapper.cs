using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>A remapper from a plain name function: returns the new name, or null to drop (ignore) the tensor.</summary>
public sealed class KeyRemapper(Func<string, string?> rename) : IKeyRemapper
{
    public IDictionary<string, Tensor> Remap(IDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, ModuleEntry> expected,
        ICollection<string> ignored)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in tensors)
        {
            var renamed = rename(key);
            if (renamed == null)
            {
                ignored.Add(key);
                continue;
            }
            if (!result.TryAdd(renamed, tensor))
                throw new InvalidOperationException($"Key remapping maps two tensors to '{renamed}' (one of them '{key}')");
        }
        return result;
    }
}
