namespace SeLoRA.Adapters.AdaLora;

/// <summary>What <see cref="RankAllocator.UpdateAndAllocate"/> did at one step.</summary>
/// <param name="Budget">The budget of the step: total kept triplets over all modules.</param>
/// <param name="Masked">Whether E was masked at this step.</param>
/// <param name="RankPattern">The masks applied this step (module name to kept triplets), or null when none was.</param>
public sealed record RankAllocation(long Step, int Budget, bool Masked, IReadOnlyDictionary<string, bool[]>? RankPattern);
