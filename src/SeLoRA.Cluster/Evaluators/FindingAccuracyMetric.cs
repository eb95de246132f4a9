using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Evaluation.Findings;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>
/// SynthCXR finding accuracy: does each generated image show the findings its prompt asked for, by a small classifier
/// trained once on the dataset's own labelled images (or the file selora.eval.finding-classifier names).
/// </summary>
public sealed class FindingAccuracyMetric(string classifierPath, int batchSize, Action<string> log) : ICheckpointMetric
{
    // One training at a time in a process: two evaluators would otherwise race to write the same cached classifier.
    static readonly Lock Training = new();

    FindingClassifier? classifier;
    IReadOnlyDictionary<string, SynthCxrLabel>? labels;
    string? classifierDataset;

    public string Name => MetricNames.FindingAccuracy;

    public void Measure(MetricInputs inputs, IDictionary<string, double> metrics, IDictionary<string, string> details, CancellationToken cancellation)
    {
        if (!inputs.SynthCxr)
            throw new ArgumentException($"finding-accuracy needs SynthCXR ground truth ({SynthCxrGenerator.LabelsFileName} in {inputs.DatasetFolder}); " +
                                        "remove it from selora.eval.metrics for this dataset.");
        // The classifier and the labels belong to one dataset; both are kept for the next checkpoint of it.
        if (classifier is null || labels is null || classifierDataset != inputs.DatasetFolder)
        {
            labels = FindingLabelReader.Read(inputs.DatasetFolder);
            classifier?.Dispose();
            lock (Training)
                classifier = classifierPath.Length > 0
                    ? FindingClassifier.Load(classifierPath)
                    : FindingClassifierCache.GetOrTrain(inputs.DatasetFolder, log: log, cancellationToken: cancellation);
            classifierDataset = inputs.DatasetFolder;
        }
        var asked = inputs.Examples.Select(e => LabelOf(labels, inputs.DatasetFolder, e.ImagePath)).ToList();
        var result = FindingAccuracy.Evaluate(classifier, inputs.GeneratedImages, asked, batchSize: batchSize);
        metrics[Name] = result.MeanAccuracy;
        if (result.MeanAuc is { } auc) metrics[MetricNames.FindingAuc] = auc;
        details[Name] = result.Describe();
    }

    static SynthCxrLabel LabelOf(IReadOnlyDictionary<string, SynthCxrLabel> labels, string folder, string imagePath)
    {
        var relative = Path.GetRelativePath(folder, imagePath).Replace('\\', '/');
        return labels.TryGetValue(relative, out var label) || labels.TryGetValue(Path.GetFileName(imagePath), out label)
            ? label
            : throw new InvalidDataException($"{Path.Combine(folder, SynthCxrGenerator.LabelsFileName)}: no labels for {relative}.");
    }

    public void Dispose() => classifier?.Dispose();
}
