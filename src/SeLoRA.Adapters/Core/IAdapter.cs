using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Core;

/// <summary>
/// A trainable low-rank (or otherwise parameter-efficient) update attached to one frozen linear layer:
/// <c>output = base(x) + delta(x)</c>. Every method (LoRA, SeLoRA, later DyLoRA and AdaLoRA) implements this.
/// </summary>
public interface IAdapter
{
    /// <summary>Full dotted name of the adapted layer in its model (e.g. <c>encoder.layers.0.self_attn.q_proj</c>).</summary>
    string Name { get; }

    /// <summary>Index given at injection; SeLoRA seeds its random draws with it, so it must be the same on every replica.</summary>
    int LayerIndex { get; }

    /// <summary>Current rank (for methods with a variable rank, the rank used by the forward pass now).</summary>
    int Rank { get; }

    long InFeatures { get; }

    long OutFeatures { get; }

    /// <summary>Whether the update is folded into the base weight (the forward then adds nothing).</summary>
    bool Merged { get; }

    /// <summary>The adapter's trainable parameters, in a fixed order. References change when the rank grows.</summary>
    IEnumerable<Parameter> TrainableParameters();

    /// <summary>The dense weight update <c>delta W</c> (shape [out, in]) that <see cref="Merge"/> would add; no autograd history.</summary>
    Tensor DeltaWeight();

    /// <summary>Adds <see cref="DeltaWeight"/> to the frozen base weight in place.</summary>
    void Merge();

    /// <summary>Subtracts the merged update again.</summary>
    void Unmerge();
}
