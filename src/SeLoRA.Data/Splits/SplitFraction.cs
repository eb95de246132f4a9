namespace SeLoRA.Data.Splits;

/// <summary>A named share of a dataset, e.g. ("train", 0.8).</summary>
public sealed record SplitFraction(string Name, double Fraction);
