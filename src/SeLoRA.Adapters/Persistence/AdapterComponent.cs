using static TorchSharp.torch;

namespace SeLoRA.Adapters.Persistence;

/// <summary>
/// A model whose adapters go into (or come from) a file, under a component name ("unet", "text_encoder", or any name
/// for a single model). Adapter names are the full dotted module names inside <see cref="Root"/>.
/// </summary>
public sealed record AdapterComponent(string Name, nn.Module Root)
{
    /// <summary>The key prefix of this component's tensors under a convention.</summary>
    public string KeyPrefix(AdapterKeyConvention convention) => convention switch
    {
        AdapterKeyConvention.Peft => AdapterFile.PeftPrefix,
        AdapterKeyConvention.Diffusers => Name + ".",
        _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "unknown key convention"),
    };
}
