using System.Globalization;
using System.Text;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Injection;

/// <summary>
/// The layers an injection would adapt and the trainable parameters it would add, computed without changing the model
/// (so it works on a model built on the meta device). Layers are in named_modules() order, the injection order.
/// </summary>
public sealed class AdapterPlan
{
    /// <summary>LoRA and SeLoRA: A [r, in] and B [out, r].</summary>
    public static long LowRankParameters(long inFeatures, long outFeatures, int rank) => rank * (inFeatures + outFeatures);

    public AdapterPlan(IReadOnlyList<PlannedLayer> layers)
    {
        Layers = layers ?? throw new ArgumentNullException(nameof(layers));
    }

    public IReadOnlyList<PlannedLayer> Layers { get; }

    public int Count => Layers.Count;

    public long TrainableParameters => Layers.Sum(l => l.TrainableParameters);

    /// <summary>Per component (in first-seen order): layer count and trainable parameters.</summary>
    public IReadOnlyList<(string Component, int Layers, long Parameters)> ByComponent =>
        Layers.GroupBy(l => l.Component).Select(g => (g.Key, g.Count(), g.Sum(l => l.TrainableParameters))).ToList();

    /// <summary>Plans the Linear modules of <paramref name="root"/> whose full dotted names pass <paramref name="filter"/>.</summary>
    /// <param name="parameters">Trainable parameters of one layer from (in, out, rank); default <see cref="LowRankParameters"/>.</param>
    public static AdapterPlan For(nn.Module root, Func<string, bool> filter, int rank, string component = "",
        Func<long, long, int, long>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        var linears = root.named_modules()
            .Where(m => m.module is Linear)
            .Select(m => (m.name, ((Linear)m.module).weight!.shape));
        return ForLinears(linears.Select(l => (l.name, l.shape[1], l.shape[0])), filter, rank, component, parameters);
    }

    /// <summary>Plans from a list of linear layers given as (name, in, out), e.g. read from a checkpoint's key list.</summary>
    public static AdapterPlan ForLinears(IEnumerable<(string Name, long InFeatures, long OutFeatures)> linears, Func<string, bool> filter,
        int rank, string component = "", Func<long, long, int, long>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(linears);
        ArgumentNullException.ThrowIfNull(filter);
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "rank must be at least 1");
        parameters ??= LowRankParameters;
        return new AdapterPlan(linears
            .Where(l => filter(l.Name))
            .Select(l => new PlannedLayer(component, l.Name, l.InFeatures, l.OutFeatures, rank, parameters(l.InFeatures, l.OutFeatures, rank)))
            .ToList());
    }

    /// <summary>Plans a Stable Diffusion pair: the text encoder's layers (when the targets adapt it) first, then the UNet's.</summary>
    public static AdapterPlan ForPair(nn.Module? textEncoder, nn.Module unet, AdapterTargets targets, int rank,
        Func<long, long, int, long>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var layers = new List<PlannedLayer>();
        if (textEncoder is not null && targets.AdaptsTextEncoder)
            layers.AddRange(For(textEncoder, targets.TextEncoderFilter, rank, AdapterPresets.TextEncoder, parameters).Layers);
        layers.AddRange(For(unet, targets.UnetFilter, rank, AdapterPresets.Unet, parameters).Layers);
        return new AdapterPlan(layers);
    }

    public AdapterPlan Concat(AdapterPlan other) => new(Layers.Concat(other.Layers).ToList());

    /// <summary>A plain-text table: one line per layer, then per-component and overall totals.</summary>
    public string Format(bool perLayer = true)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        if (perLayer)
        {
            var width = Layers.Count == 0 ? 4 : Math.Max(4, Layers.Max(l => l.Component.Length + 1 + l.Name.Length));
            sb.AppendLine(inv, $"{"layer".PadRight(width)}  {"in",6} {"out",6} {"rank",4} {"params",12}");
            foreach (var l in Layers)
            {
                var name = l.Component.Length > 0 ? $"{l.Component}.{l.Name}" : l.Name;
                sb.AppendLine(inv, $"{name.PadRight(width)}  {l.InFeatures,6} {l.OutFeatures,6} {l.Rank,4} {l.TrainableParameters,12:N0}");
            }
        }
        foreach (var (component, count, total) in ByComponent)
            sb.AppendLine(inv, $"{(component.Length > 0 ? component : "model")}: {count} layers, {total:N0} trainable parameters");
        sb.AppendLine(inv, $"total: {Count} layers, {TrainableParameters:N0} trainable parameters");
        return sb.ToString();
    }
}
