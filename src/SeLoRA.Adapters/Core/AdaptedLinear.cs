using SeLoRA.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Core;

/// <summary>
/// Base of every adapter on a linear layer: holds the frozen base weight and bias and computes
/// <c>linear(x, W0, b0) + Delta(x)</c>.
/// </summary>
/// <remarks>
/// The base parameters are the very <see cref="Linear"/>'s parameters (no copy), registered here as <c>weight</c> and
/// <c>bias</c> (loralib layout), so the model's base state-dict keys do not change when a layer is adapted.
/// Derived classes must call <c>RegisterComponents()</c> at the end of their constructor.
/// </remarks>
public abstract class AdaptedLinear : nn.Module<Tensor, Tensor>, IAdapter
{
    // Field names are the state-dict keys of the base layer.
    Parameter weight;
    Parameter? bias;

    protected AdaptedLinear(string name, int layerIndex, Linear baseLayer, string moduleName) : base(moduleName)
    {
        TorchRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(baseLayer);
        Name = name ?? throw new ArgumentNullException(nameof(name));
        LayerIndex = layerIndex;
        weight = baseLayer.weight ?? throw new ArgumentException($"Linear layer '{name}' has no weight.", nameof(baseLayer));
        bias = baseLayer.bias;
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
        OutFeatures = weight.shape[0];
        InFeatures = weight.shape[1];
    }

    public string Name { get; }

    public int LayerIndex { get; }

    public long InFeatures { get; }

    public long OutFeatures { get; }

    public abstract int Rank { get; }

    public bool Merged { get; private set; }

    /// <summary>The frozen base weight [out, in].</summary>
    public Parameter BaseWeight => weight;

    /// <summary>The frozen base bias [out], or null.</summary>
    public Parameter? BaseBias => bias;

    public abstract IEnumerable<Parameter> TrainableParameters();

    public abstract Tensor DeltaWeight();

    /// <summary>The adapter's contribution for input x (same leading dimensions as x, last dimension out).</summary>
    protected abstract Tensor Delta(Tensor input);

    public override Tensor forward(Tensor input)
    {
        if (Merged) return nn.functional.linear(input, weight, bias);
        using var scope = NewDisposeScope();
        var result = nn.functional.linear(input, weight, bias) + Delta(input);
        return result.MoveToOuterDisposeScope();
    }

    public void Merge()
    {
        if (Merged) throw new InvalidOperationException($"Adapter '{Name}' is already merged.");
        OnBeforeMerge();
        using (no_grad())
        using (var delta = DeltaWeight())
            weight.add_(delta.to(weight.dtype, weight.device));
        Merged = true;
    }

    public void Unmerge()
    {
        if (!Merged) throw new InvalidOperationException($"Adapter '{Name}' is not merged.");
        using (no_grad())
        using (var delta = DeltaWeight())
            weight.sub_(delta.to(weight.dtype, weight.device));
        Merged = false;
    }

    /// <summary>Lets a derived class refuse a merge (e.g. during a SeLoRA trial pass).</summary>
    protected virtual void OnBeforeMerge()
    {
    }

    protected void ThrowIfMerged(string operation)
    {
        if (Merged) throw new InvalidOperationException($"Adapter '{Name}' is merged into its base weight; unmerge it before {operation}.");
    }
}
