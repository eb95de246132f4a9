using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// Accepts the deprecated diffusers AttentionBlock names still used on disk by SD1.5's fp32 VAE file:
/// <c>attentions.N.{query,key,value,proj_attn}</c> become <c>attentions.N.{to_q,to_k,to_v,to_out.0}</c> (group_norm keeps its
/// name), as diffusers' _fix_state_dict_keys_on_load does. 1x1-conv weights <c>[C, C, 1, 1]</c> (an LDM-style save) are
/// reshaped to the Linear <c>[C, C]</c> the module expects.
/// </summary>
public sealed partial class LegacyVaeAttentionKeys : IKeyRemapper
{
    public static LegacyVaeAttentionKeys Instance { get; } = new();

    [GeneratedRegex(@"^(?<prefix>(?:.*\.)?attentions\.\d+\.)(?<old>query|key|value|proj_attn)\.(?<kind>weight|bias)$")]
    private static partial Regex OldName();

    /// <summary>The current name for a deprecated one; other names come back unchanged.</summary>
    public static string MapKey(string key)
    {
        var m = OldName().Match(key);
        if (!m.Success) return key;
        var replacement = m.Groups["old"].Value switch
        {
            "query" => "to_q",
            "key" => "to_k",
            "value" => "to_v",
            _ => "to_out.0",
        };
        return $"{m.Groups["prefix"].Value}{replacement}.{m.Groups["kind"].Value}";
    }

    /// <summary>Renames only where the module expects the new name and not the old one, so current layouts are never touched.</summary>
    public IDictionary<string, Tensor> Remap(IDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, ModuleEntry> expected,
        ICollection<string> ignored)
    {
        if (!tensors.Keys.Any(k => OldName().IsMatch(k))) return tensors;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in tensors)
        {
            var renamed = MapKey(key);
            if (renamed == key || expected.ContainsKey(key) || !expected.TryGetValue(renamed, out var target))
            {
                Add(result, key, tensor);
                continue;
            }
            var value = tensor;
            if (IsConvOfLinear(tensor.shape, target.Shape)) value = tensor.reshape(target.Shape);
            Add(result, renamed, value);
        }
        return result;
    }

    static void Add(Dictionary<string, Tensor> result, string key, Tensor tensor)
    {
        if (!result.TryAdd(key, tensor))
            throw new StateDictMismatchException($"The file holds '{key}' under both its deprecated and its current name",
                new LoadReport([], [], [key], [], [], []));
    }

    static bool IsConvOfLinear(long[] stored, long[] wanted) =>
        stored.Length == 4 && wanted.Length == 2 && stored[2] == 1 && stored[3] == 1 && stored[0] == wanted[0] && stored[1] == wanted[1];
}
