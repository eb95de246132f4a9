namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// Trains the finding classifier of a dataset once and keeps it (by default in
/// &lt;dataset&gt;/.selora/finding-classifier/classifier.safetensors + classifier.json). A stored classifier is reused when
/// its sidecar matches: same labels file hash, same image set, and the options' resolution, findings, width, seed and
/// epochs; otherwise (or when the stored files are unreadable) it is retrained and overwritten.
/// </summary>
public static class FindingClassifierCache
{
    public static string DefaultPath(string datasetFolder) =>
        Path.Combine(datasetFolder, ".selora", "finding-classifier", "classifier.safetensors");

    /// <summary>The stored classifier for datasetFolder if it fits, else a newly trained (and stored) one.</summary>
    public static FindingClassifier GetOrTrain(string datasetFolder, FindingTrainingOptions? options = null, string? path = null,
        IReadOnlyCollection<string>? fileNames = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        options ??= FindingTrainingOptions.Default;
        path ??= DefaultPath(datasetFolder);
        var labelsHash = FindingLabelReader.Hash(datasetFolder);
        var imagesHash = FindingClassifierTrainer.ImagesHash(fileNames ?? FindingLabelReader.Read(datasetFolder).Keys.ToArray());
        if (File.Exists(path) && File.Exists(FindingClassifier.SidecarPath(path)))
        {
            string? why;
            try
            {
                why = Mismatch(FindingClassifier.ReadInfo(path), options, labelsHash, imagesHash);
                if (why == null)
                {
                    log?.Invoke($"finding classifier: reusing {path}");
                    return FindingClassifier.Load(path);
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or SeLoRA.Torch.Safetensors.WeightFileException)
            {
                why = $"unreadable ({e.Message})";
            }
            log?.Invoke($"finding classifier: retraining, the stored one at {path} does not fit: {why}");
        }
        var classifier = FindingClassifierTrainer.Train(datasetFolder, options, fileNames, log, cancellationToken);
        classifier.Save(path);
        return classifier;
    }

    /// <summary>Why a stored classifier does not fit, or null when it does.</summary>
    static string? Mismatch(FindingClassifierInfo info, FindingTrainingOptions options, string labelsHash, string imagesHash)
    {
        if (info.LabelsHash != labelsHash) return $"labels hash {info.LabelsHash} is not {labelsHash}";
        if (info.ImagesHash != imagesHash) return "trained on a different set of images";
        if (info.Resolution != options.Resolution) return $"resolution {info.Resolution}, asked {options.Resolution}";
        if (!info.Findings.SequenceEqual(options.FindingsOrAll)) return $"findings {string.Join(",", info.Findings.Select(FindingTargets.Name))}, asked {string.Join(",", options.FindingsOrAll.Select(FindingTargets.Name))}";
        if (info.Width != options.Width || info.Seed != options.Seed || info.Epochs != options.Epochs) return "different width, seed or epochs";
        return null;
    }
}
