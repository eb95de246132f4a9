using System.Globalization;

namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// Classifies an adapted layer by its dotted module name (diffusers UNet / transformers CLIP naming): component, kind and
/// position. Names are the adapters' names relative to the text encoder or UNet root; a trailing <c>.weight</c>/<c>.bias</c>
/// and the prefixes saved files use (<c>base_model.model.</c>, <c>unet.</c>, <c>text_encoder.</c>) are tolerated.
/// </summary>
public static class LayerClassifier
{
    const string TextPrefix = "text_model.";

    public static LayerClassification Classify(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A layer name must not be empty.", nameof(name));
        var (clean, component) = Normalize(name.Trim());
        var segments = clean.Split('.');
        var (kind, strip) = KindOf(segments);
        var positionSegments = segments.Length > strip ? segments[..^strip] : segments;
        var position = component == ModelComponent.TextEncoder
            ? TextPosition(positionSegments)
            : UnetPosition(positionSegments);
        // CLIP's attention layers are self-attention; its position (the encoder layer) also holds the MLP.
        var attention = component == ModelComponent.TextEncoder
            ? (kind is LayerKind.Q or LayerKind.K or LayerKind.V or LayerKind.Out && segments.Contains("self_attn") ? AttentionRole.Self : AttentionRole.None)
            : position.Attention;
        return new LayerClassification(name, component, kind, attention, position);
    }

    /// <summary>Short lower-case name of a kind as the figure and tables print it: q, k, v, out, ff, time, other.</summary>
    public static string KindLabel(LayerKind kind) => kind switch
    {
        LayerKind.Q => "q",
        LayerKind.K => "k",
        LayerKind.V => "v",
        LayerKind.Out => "out",
        LayerKind.FF => "ff",
        LayerKind.Time => "time",
        _ => "other",
    };

    /// <summary>Short name of a component: <c>text_encoder</c> or <c>unet</c>.</summary>
    public static string ComponentLabel(ModelComponent component) =>
        component == ModelComponent.TextEncoder ? "text_encoder" : "unet";

    static (string Name, ModelComponent Component) Normalize(string name)
    {
        foreach (var suffix in new[] { ".weight", ".bias" })
            if (name.EndsWith(suffix, StringComparison.Ordinal)) name = name[..^suffix.Length];
        if (name.StartsWith("base_model.model.", StringComparison.Ordinal)) name = name["base_model.model.".Length..];
        if (name.StartsWith("unet.", StringComparison.Ordinal)) return (name["unet.".Length..], ModelComponent.Unet);
        var saysText = false;
        if (name.StartsWith("text_encoder.", StringComparison.Ordinal))
        {
            name = name["text_encoder.".Length..];
            saysText = true;
        }
        return (name, saysText || name.StartsWith(TextPrefix, StringComparison.Ordinal) ? ModelComponent.TextEncoder : ModelComponent.Unet);
    }

    /// <summary>The kind, and how many trailing segments name the layer within its position.</summary>
    static (LayerKind Kind, int Strip) KindOf(string[] s)
    {
        bool Tail(params string[] tail) =>
            s.Length >= tail.Length && tail.Select((t, i) => s[s.Length - tail.Length + i] == t).All(x => x);

        if (Tail("to_q") || Tail("q_proj")) return (LayerKind.Q, 1);
        if (Tail("to_k") || Tail("k_proj")) return (LayerKind.K, 1);
        if (Tail("to_v") || Tail("v_proj")) return (LayerKind.V, 1);
        if (Tail("to_out", "0")) return (LayerKind.Out, 2);
        if (Tail("out_proj")) return (LayerKind.Out, 1);
        // ff layers keep their "ff"/"mlp" parent as the position, so fc1 and fc2 share a cell.
        if (Tail("ff", "net", "0", "proj")) return (LayerKind.FF, 3);
        if (Tail("ff", "net", "2")) return (LayerKind.FF, 2);
        if (Tail("mlp", "fc1") || Tail("mlp", "fc2")) return (LayerKind.FF, 1);
        if (Tail("time_emb_proj")) return (LayerKind.Time, 1);
        return (LayerKind.Other, 1);
    }

    static LayerPosition TextPosition(string[] s)
    {
        const AttentionRole attention = AttentionRole.None;
        var layersAt = IndexAfter(s, "layers", out var layer);
        if (layersAt >= 0)
        {
            var key = string.Join('.', s[..(layersAt + 2)]);
            return new LayerPosition(ModelComponent.TextEncoder, key, layer.ToString(CultureInfo.InvariantCulture),
                "text_model.encoder", "encoder", layer, null, null, null, null, attention)
            {
                Order = (0, 1, layer, 0, 0, 0, 0),
            };
        }
        // Outside the encoder layers: embeddings first, anything else (final projection) last.
        var other = string.Join('.', s);
        var section = s.Contains("embeddings") ? 0 : 2;
        return new LayerPosition(ModelComponent.TextEncoder, other, Shorten(other), "", "", null, null, null, null, null, attention)
        {
            Order = (0, section, 0, 0, 0, 0, 0),
        };
    }

    static LayerPosition UnetPosition(string[] s)
    {
        var key = string.Join('.', s);
        var downAt = IndexAfter(s, "down_blocks", out var down);
        var upAt = IndexAfter(s, "up_blocks", out var up);
        var midAt = Array.IndexOf(s, "mid_block");
        int section, blockAt;
        int? block;
        string group, groupLabel, blockLabel;
        if (downAt >= 0) (section, blockAt, block, group, groupLabel, blockLabel) = (1, downAt + 2, down, $"down_blocks.{down}", $"down {down}", $"d{down}");
        else if (midAt >= 0) (section, blockAt, block, group, groupLabel, blockLabel) = (2, midAt + 1, null, "mid_block", "mid", "mid");
        else if (upAt >= 0) (section, blockAt, block, group, groupLabel, blockLabel) = (3, upAt + 2, up, $"up_blocks.{up}", $"up {up}", $"u{up}");
        else
        {
            // Outside the blocks: the embeddings and conv_in run before them, the output layers after.
            var before = s.Length > 0 && s[0] is "time_embedding" or "class_embedding" or "add_embedding" or "conv_in";
            return new LayerPosition(ModelComponent.Unet, key, Shorten(key), "", "", null, null, null, null, null, AttentionRole.None)
            {
                Order = (1, before ? 0 : 4, 0, 0, 0, 0, 0),
            };
        }

        var rest = s[blockAt..];
        string? unit = null;
        int? unitIndex = null;
        int unitType = 3, unitOrder = 0;
        var label = blockLabel;
        if (rest.Length >= 2 && int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out var j))
        {
            (unit, unitIndex, unitOrder) = (rest[0], j, j);
            (unitType, var unitLabel) = rest[0] switch
            {
                "resnets" => (0, "r"),
                "attentions" => (1, "a"),
                "downsamplers" or "upsamplers" => (2, rest[0][..2]),
                _ => (3, rest[0]),
            };
            label += $".{unitLabel}{j}";
            rest = rest[2..];
        }

        int? transformer = null;
        var transformerOrder = -1;
        if (rest.Length >= 2 && rest[0] == "transformer_blocks"
            && int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out var k))
        {
            transformer = transformerOrder = k;
            if (k > 0) label += $".t{k}";
            rest = rest[2..];
        }
        else if (rest.Length > 0 && rest[0] == "proj_out")
            transformerOrder = int.MaxValue;

        var attention = AttentionRole.None;
        var sub = 3;
        if (rest.Length > 0)
        {
            (attention, sub) = rest[0] switch
            {
                "attn1" => (AttentionRole.Self, 0),
                "attn2" => (AttentionRole.Cross, 1),
                "ff" => (AttentionRole.None, 2),
                _ => (AttentionRole.None, 3),
            };
            label += "." + (rest[0] switch { "attn1" => "self", "attn2" => "cross", _ => string.Join('.', rest) });
        }

        return new LayerPosition(ModelComponent.Unet, key, label, group, groupLabel, null, block, unit, unitIndex, transformer, attention)
        {
            Order = (1, section, block ?? 0, unitOrder, unitType, transformerOrder, sub),
        };
    }

    /// <summary>Position of <paramref name="name"/> followed by an integer segment, or -1.</summary>
    static int IndexAfter(string[] s, string name, out int value)
    {
        for (var i = 0; i + 1 < s.Length; i++)
            if (s[i] == name && int.TryParse(s[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out value))
                return i;
        value = -1;
        return -1;
    }

    static string Shorten(string key) => key.Length <= 24 ? key : "…" + key[^23..];
}
