using System.Globalization;
using SeLoRA.Adapters.Reporting;
using SeLoRA.TestSupport;

namespace SeLoRA.Adapters.Tests.Reporting;

/// <summary>SD1.5 linear layers read from the shared key lists (name without ".weight", out and in features).</summary>
internal static class Sd15Layers
{
    public static IReadOnlyList<(string Name, long Out, long In)> Unet() => Read("sd15/unet.keys.tsv");

    public static IReadOnlyList<(string Name, long Out, long In)> TextEncoder() => Read("sd15/text_encoder.keys.tsv");

    /// <summary>The official SeLoRA run's 206 layers: every CLIP encoder Linear; UNet to_q/to_k/to_v, ff.net.0.proj, time_emb_proj.</summary>
    public static List<AdaptedLayerInfo> OfficialPreset(Func<string, int> rank)
    {
        string[] text = [".q_proj", ".k_proj", ".v_proj", ".out_proj", ".mlp.fc1", ".mlp.fc2"];
        string[] unet = [".to_q", ".to_k", ".to_v", ".ff.net.0.proj", ".time_emb_proj"];
        return TextEncoder().Where(l => l.Name.Contains(".encoder.layers.") && text.Any(t => l.Name.EndsWith(t, StringComparison.Ordinal)))
            .Concat(Unet().Where(l => unet.Any(t => l.Name.EndsWith(t, StringComparison.Ordinal))))
            .Select(l => new AdaptedLayerInfo(l.Name, rank(l.Name), l.In, l.Out))
            .ToList();
    }

    /// <summary>Ranks shaped like the paper's Figure 3: large on q and k of the text encoder and of UNet cross-attention.</summary>
    public static int PaperLikeRank(string name)
    {
        var jitter = (int)((uint)StableHash(name) % 3);
        var crossOrText = name.StartsWith("text_model.", StringComparison.Ordinal) || name.Contains(".attn2.");
        var qk = name.EndsWith("q_proj", StringComparison.Ordinal) || name.EndsWith("k_proj", StringComparison.Ordinal)
                 || name.EndsWith("to_q", StringComparison.Ordinal) || name.EndsWith("to_k", StringComparison.Ordinal);
        return crossOrText && qk ? 6 + 2 * jitter : 1 + jitter / 2;
    }

    static int StableHash(string s)
    {
        unchecked
        {
            var h = (int)2166136261;
            foreach (var c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }

    static List<(string Name, long Out, long In)> Read(string relative)
    {
        var path = RepoPaths.RequireShared(relative);
        var layers = new List<(string, long, long)>();
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split('\t');
            if (parts.Length != 2 || !parts[0].EndsWith(".weight", StringComparison.Ordinal)) continue;
            var shape = parts[1].Split(',');
            if (shape.Length != 2) continue; // 2-D weights are the Linear layers (convs are 4-D, norms 1-D)
            layers.Add((parts[0][..^".weight".Length],
                long.Parse(shape[0], CultureInfo.InvariantCulture), long.Parse(shape[1], CultureInfo.InvariantCulture)));
        }
        return layers;
    }
}
