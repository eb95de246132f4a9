namespace SeLoRA.Adapters.Persistence;

/// <summary>One adapter filled from a file: its rank before and after (SeLoRA layers grow to the saved rank), and whether
/// its growth state (draw count, trial row) came from the file.</summary>
public sealed record LoadedAdapter(string Component, string Name, int PreviousRank, int Rank, bool GrowthRestored);
