namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// Area under the ROC curve by the Mann-Whitney rank statistic: rank all scores together (tied scores share the mean
/// of their ranks), then AUC = (R+ - n+ (n+ + 1) / 2) / (n+ n-), R+ the rank sum of the positives. This equals
/// P(score of a random positive > score of a random negative) + 0.5 P(tie), the value sklearn's roc_auc_score gives.
/// </summary>
public static class RocAuc
{
    /// <summary>The AUC, or null when the labels hold only one class (the AUC is then undefined).</summary>
    public static double? Compute(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count)
            throw new ArgumentException($"{scores.Count} scores but {positive.Count} labels.", nameof(positive));
        for (var i = 0; i < scores.Count; i++)
            if (double.IsNaN(scores[i])) throw new ArgumentException($"score {i} is NaN.", nameof(scores));
        long nPositive = positive.Count(p => p), nNegative = positive.Count - nPositive;
        if (nPositive == 0 || nNegative == 0) return null;

        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var positiveRankSum = 0.0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            // 1-based ranks start+1 .. end+1 share their mean.
            var meanRank = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++)
                if (positive[order[k]]) positiveRankSum += meanRank;
            start = end + 1;
        }
        return (positiveRankSum - nPositive * (nPositive + 1) / 2.0) / ((double)nPositive * nNegative);
    }
}
