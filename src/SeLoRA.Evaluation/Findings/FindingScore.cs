using System.Globalization;

namespace SeLoRA.Evaluation.Findings;

/// <summary>How well the classifier's verdicts on a set of images agree with the findings asked for one finding.</summary>
/// <param name="Count">Images scored.</param>
/// <param name="Positives">Images whose label (or prompt) has the finding.</param>
/// <param name="Accuracy">Share of images whose thresholded prediction equals the label.</param>
/// <param name="BalancedAccuracy">(sensitivity + specificity) / 2; null when only one class is present.</param>
/// <param name="Auc">ROC AUC of the predicted probability (<see cref="RocAuc"/>); null when only one class is present.</param>
/// <param name="MajorityRate">Accuracy of always answering the more common class: the chance level to beat.</param>
public sealed record FindingScore(
    Finding Finding,
    int Count,
    int Positives,
    double Accuracy,
    double? BalancedAccuracy,
    double? Auc,
    double MajorityRate)
{
    /// <summary>The decision threshold on the sigmoid probability.</summary>
    public const double Threshold = 0.5;

    /// <summary>Scores probabilities against labels (both per image, same order).</summary>
    public static FindingScore From(Finding finding, IReadOnlyList<bool> truth, IReadOnlyList<double> probability)
    {
        if (truth.Count != probability.Count)
            throw new ArgumentException($"{FindingTargets.Name(finding)}: {truth.Count} labels but {probability.Count} probabilities.", nameof(probability));
        if (truth.Count == 0) throw new ArgumentException($"{FindingTargets.Name(finding)}: no images to score.", nameof(truth));
        int truePositive = 0, trueNegative = 0, positives = 0;
        for (var i = 0; i < truth.Count; i++)
        {
            var predicted = probability[i] >= Threshold;
            if (truth[i]) { positives++; if (predicted) truePositive++; }
            else if (!predicted) trueNegative++;
        }
        var negatives = truth.Count - positives;
        double? balanced = positives == 0 || negatives == 0
            ? null
            : 0.5 * ((double)truePositive / positives + (double)trueNegative / negatives);
        return new FindingScore(
            finding,
            truth.Count,
            positives,
            (double)(truePositive + trueNegative) / truth.Count,
            balanced,
            RocAuc.Compute(probability, truth),
            (double)Math.Max(positives, negatives) / truth.Count);
    }

    /// <summary>"lesion acc 0.912 (chance 0.800) bal 0.874 AUC 0.951, 23/115 positive"; AUC and balanced accuracy read n/a with one class.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{FindingTargets.Name(Finding)} acc {Accuracy:0.000} (chance {MajorityRate:0.000}) " +
        $"bal {(BalancedAccuracy is { } b ? b.ToString("0.000", CultureInfo.InvariantCulture) : "n/a")} " +
        $"AUC {(Auc is { } a ? a.ToString("0.000", CultureInfo.InvariantCulture) : "n/a (one class)")}, {Positives}/{Count} positive");
}
