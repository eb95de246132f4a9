using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Core;

/// <summary>
/// One trainable matrix held as a bias-free linear map. It is a child module with a single parameter named <c>weight</c>,
/// so a LoRA layer's state-dict keys read <c>lora_A.weight</c> and <c>lora_B.weight</c>, as in PEFT's saved files.
/// </summary>
public sealed class AdapterWeight : nn.Module<Tensor, Tensor>
{
    // Named "weight" on purpose: the registered name becomes the state-dict key.
    Parameter weight;

    public AdapterWeight(Parameter weight) : base(nameof(AdapterWeight))
    {
        this.weight = weight;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor input) => nn.functional.linear(input, weight);

    /// <summary>Swaps in a new parameter (rank growth); the caller owns the old one.</summary>
    public void Replace(Parameter replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        weight = replacement;
        ConditionallyRegisterParameter(nameof(weight), replacement);
    }
}
