using TorchSharp.Modules;

namespace SeLoRA.Adapters.Injection;

/// <summary>A linear layer chosen for adaptation: its full dotted name, the layer, and its index among the chosen layers.</summary>
public sealed record InjectionSite(string Name, Linear Layer, int Index);
