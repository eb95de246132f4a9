using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// Rewrites a file's tensors (names, shapes, or dropping some) before they are matched to a module, e.g. to accept
/// older checkpoint layouts. Implementations must not dispose the incoming tensors they pass on; a tensor they
/// replace (reshape) may be a view of the original.
/// </summary>
public interface IKeyRemapper
{
    /// <param name="tensors">The incoming tensors by name.</param>
    /// <param name="expected">What the module expects, by name.</param>
    /// <param name="ignored">Names the remapper dropped on purpose, reported as ignored rather than unexpected.</param>
    IDictionary<string, Tensor> Remap(IDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, ModuleEntry> expected,
        ICollection<string> ignored);
}
