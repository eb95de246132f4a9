using SeLoRA.Data.Datasets.SynthCxr;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// Prompt alignment with ground truth: a <see cref="FindingClassifier"/> trained on real SynthCXR images judges each
/// generated image, and its verdicts are scored against the labels of the prompt that produced the image.
/// </summary>
public static class FindingAccuracy
{
    /// <summary>Scores generated images; prompts[i] is the label of the prompt image i was generated from.</summary>
    public static FindingAccuracyResult Evaluate(FindingClassifier classifier, IReadOnlyList<string> imagePaths, IReadOnlyList<SynthCxrLabel> prompts,
        IReadOnlyList<Finding>? findings = null, int batchSize = 128)
    {
        if (imagePaths.Count != prompts.Count)
            throw new ArgumentException($"{imagePaths.Count} images but {prompts.Count} prompt labels; each image needs the label of its prompt.", nameof(prompts));
        findings ??= classifier.Findings;
        var columns = findings.Select(classifier.ColumnOf).ToArray();
        var probabilities = classifier.Predict(imagePaths, batchSize);
        var selected = probabilities.Select(row => columns.Select(c => row[c]).ToArray()).ToArray();
        return Score(findings, prompts, selected, classifier.Info.HeldOut);
    }

    /// <summary>Scores probabilities (probabilities[i][k] for findings[k] in image i) against the prompts' labels.</summary>
    public static FindingAccuracyResult Score(IReadOnlyList<Finding> findings, IReadOnlyList<SynthCxrLabel> prompts, IReadOnlyList<double[]> probabilities,
        IReadOnlyList<FindingScore>? reference = null)
    {
        if (findings.Count == 0) throw new ArgumentException("no findings to score.", nameof(findings));
        if (prompts.Count != probabilities.Count)
            throw new ArgumentException($"{probabilities.Count} probability rows but {prompts.Count} prompt labels.", nameof(probabilities));
        if (prompts.Count == 0) throw new ArgumentException("no images to score.", nameof(prompts));
        for (var i = 0; i < probabilities.Count; i++)
            if (probabilities[i].Length != findings.Count)
                throw new ArgumentException($"probability row {i} has {probabilities[i].Length} values for {findings.Count} findings.", nameof(probabilities));
        var scores = findings.Select((f, k) => FindingScore.From(f,
            prompts.Select(p => FindingTargets.Has(p, f)).ToArray(),
            probabilities.Select(row => row[k]).ToArray())).ToArray();
        var balanced = scores.Where(s => s.BalancedAccuracy != null).Select(s => s.BalancedAccuracy!.Value).ToArray();
        var aucs = scores.Where(s => s.Auc != null).Select(s => s.Auc!.Value).ToArray();
        return new FindingAccuracyResult(
            scores,
            prompts.Count,
            scores.Average(s => s.Accuracy),
            balanced.Length > 0 ? balanced.Average() : null,
            aucs.Length > 0 ? aucs.Average() : null,
            reference);
    }
}
