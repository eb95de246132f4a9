using System.Globalization;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// Finding accuracy of a set of generated images: per finding, whether the classifier sees in each image what its
/// prompt asked for. An AUC is null (and said so in <see cref="Describe"/>) for a finding that every prompt asked for,
/// or none did; <see cref="MeanAuc"/> averages the defined ones.
/// </summary>
/// <param name="Scores">One score per finding, against the prompts' labels.</param>
/// <param name="Count">Images scored.</param>
/// <param name="MeanAccuracy">Mean of the per-finding accuracies.</param>
/// <param name="MeanBalancedAccuracy">Mean of the defined balanced accuracies; null when none is defined.</param>
/// <param name="MeanAuc">Mean of the defined AUCs; null when none is defined.</param>
/// <param name="Reference">The classifier's own scores on real held-back images (the ceiling), or null if unknown.</param>
public sealed record FindingAccuracyResult(
    IReadOnlyList<FindingScore> Scores,
    int Count,
    double MeanAccuracy,
    double? MeanBalancedAccuracy,
    double? MeanAuc,
    IReadOnlyList<FindingScore>? Reference)
{
    /// <summary>Mean held-out accuracy of the classifier over the same findings, or null if unknown.</summary>
    public double? ReferenceMeanAccuracy =>
        Reference is { Count: > 0 } r && Scores.All(s => r.Any(x => x.Finding == s.Finding))
            ? Scores.Average(s => r.First(x => x.Finding == s.Finding).Accuracy)
            : null;

    /// <summary>Findings whose AUC is undefined here (only one class among the prompts).</summary>
    public IReadOnlyList<Finding> UndefinedAuc => Scores.Where(s => s.Auc == null).Select(s => s.Finding).ToArray();

    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var text = string.Create(c, $"finding accuracy {MeanAccuracy:0.000} over {Scores.Count} findings and {Count} images");
        text += ReferenceMeanAccuracy is { } reference ? string.Create(c, $" (classifier on real held-out images: {reference:0.000})") : " (classifier's own accuracy unknown)";
        text += MeanAuc is { } auc ? string.Create(c, $"; mean AUC {auc:0.000}") : "; AUC undefined";
        if (UndefinedAuc.Count > 0) text += $" (n/a for {string.Join(", ", UndefinedAuc.Select(FindingTargets.Name))}: only one class asked)";
        return text + ": " + string.Join("; ", Scores.Select(s => s.Describe()));
    }
}
