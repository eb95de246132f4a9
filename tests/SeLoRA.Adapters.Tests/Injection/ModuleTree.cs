using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.Injection;

/// <summary>A module that only holds named children, so any dotted layout of Linear layers can be built from a name list.</summary>
sealed class ModuleTree : nn.Module<Tensor, Tensor>
{
    public ModuleTree() : base(nameof(ModuleTree))
    {
    }

    public override Tensor forward(Tensor input) => throw new NotSupportedException("a naming skeleton has no forward");

    /// <summary>Builds a tree holding a Linear(in, out) at each dotted name (on <paramref name="device"/>, e.g. meta).</summary>
    public static ModuleTree FromLinears(IEnumerable<(string Name, long In, long Out)> linears, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        var root = new ModuleTree();
        var nodes = new Dictionary<string, nn.Module> { [""] = root };
        foreach (var (name, inFeatures, outFeatures) in linears)
        {
            var parts = name.Split('.');
            var path = "";
            nn.Module parent = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                path = path.Length == 0 ? parts[i] : path + "." + parts[i];
                if (!nodes.TryGetValue(path, out var node))
                {
                    node = new ModuleTree();
                    parent.register_module(parts[i], node);
                    nodes[path] = node;
                }
                parent = node;
            }
            parent.register_module(parts[^1], nn.Linear(inFeatures, outFeatures, device: device));
        }
        return root;
    }
}

/// <summary>The SD1.5 key lists of shared/reference/sd15, read at run time.</summary>
static class Sd15Keys
{
    /// <summary>Linear layers as (module name, in, out): a "&lt;name&gt;.weight" with a 2-D shape, except the text
    /// encoder's token and position embeddings (nn.Embedding weights are 2-D too).</summary>
    public static List<(string Name, long In, long Out)> Linears(string component)
    {
        var path = SeLoRA.TestSupport.RepoPaths.RequireShared($"sd15/{component}.keys.tsv");
        var result = new List<(string, long, long)>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0) continue;
            var cols = line.Split('\t');
            if (!cols[0].EndsWith(".weight", StringComparison.Ordinal)) continue;
            var shape = cols[1].Split(',').Select(long.Parse).ToArray();
            if (shape.Length != 2) continue;
            var name = cols[0][..^".weight".Length];
            if (name.EndsWith("_embedding", StringComparison.Ordinal)) continue;
            result.Add((name, shape[1], shape[0]));
        }
        return result;
    }
}
