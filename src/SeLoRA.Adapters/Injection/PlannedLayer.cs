namespace SeLoRA.Adapters.Injection;

/// <summary>A linear layer an adapter would be put on: its component, full dotted name, shape, rank and trainable parameters.</summary>
public sealed record PlannedLayer(string Component, string Name, long InFeatures, long OutFeatures, int Rank, long TrainableParameters);
