using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// Drops named buffers that files contain but the module does not register as persistent, e.g.
/// <c>text_model.embeddings.position_ids</c>: 2022-era transformers saved it, current transformers (and our port) keep it
/// out of the state dict. A name is dropped only when the module has no entry of that name; it is then reported as ignored.
/// </summary>
public sealed class IgnoredBufferKeys : IKeyRemapper
{
    readonly string[] names;

    /// <param name="names">Full keys or trailing parts of keys (matched at a '.' boundary), e.g. "embeddings.position_ids".</param>
    public IgnoredBufferKeys(params string[] names)
    {
        this.names = names;
    }

    /// <summary>transformers' position_ids buffers (CLIP text and vision embeddings).</summary>
    public static IgnoredBufferKeys Default { get; } = new("embeddings.position_ids");

    public bool Matches(string key) => names.Any(n => key == n || key.EndsWith("." + n, StringComparison.Ordinal));

    public IDictionary<string, Tensor> Remap(IDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, ModuleEntry> expected,
        ICollection<string> ignored)
    {
        var drop = tensors.Keys.Where(k => Matches(k) && !expected.ContainsKey(k)).ToList();
        if (drop.Count == 0) return tensors;
        var result = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal);
        foreach (var k in drop)
        {
            result.Remove(k);
            ignored.Add(k);
        }
        return result;
    }
}
