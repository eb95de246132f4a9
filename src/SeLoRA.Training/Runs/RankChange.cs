namespace SeLoRA.Training.Runs;

/// <summary>One line of ranks.jsonl: a layer's rank changed at a step (a SeLoRA expansion, or an AdaLoRA mask).</summary>
public sealed record RankChange(long Step, string Layer, int OldRank, int NewRank);
