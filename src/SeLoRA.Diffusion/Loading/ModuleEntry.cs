namespace SeLoRA.Diffusion.Loading;

/// <summary>A state-dict entry the module expects: its name, shape, and whether it is a parameter (not a buffer).</summary>
public sealed record ModuleEntry(string Name, long[] Shape, bool IsParameter);
