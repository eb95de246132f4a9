using System.Diagnostics;
using SeLoRA.Data.Datasets;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Torch;
using SeLoRA.Torch.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// Trains a <see cref="FindingClassifier"/> on a SynthCXR folder: images and labels.jsonl, optionally restricted to a
/// list of file names (e.g. the train split, so the classifier never saw the images whose prompts are evaluated).
/// A seeded share is held back and the classifier's scores on it are stored in <see cref="FindingClassifierInfo.HeldOut"/>.
/// Binary cross-entropy on the logits, Adam, fixed epochs; deterministic for a seed on a given thread count.
/// </summary>
public static class FindingClassifierTrainer
{
    /// <summary>Which images a seed holds back: the file names sorted ordinally, shuffled by SplitMix64(seed) (Fisher-Yates),
    /// the first round(n * fraction) (at least one) held out, the rest trained on.</summary>
    public static (IReadOnlyList<string> Train, IReadOnlyList<string> HeldOut) SplitHeldOut(IEnumerable<string> fileNames, double heldOutFraction, long seed)
    {
        var names = fileNames.Order(StringComparer.Ordinal).ToArray();
        if (names.Length < 2) throw new ArgumentException($"at least two images are needed to hold some back, got {names.Length}.", nameof(fileNames));
        var random = new SplitMix64(SplitMix64.Derive(seed, 0x484F4C44)); // "HOLD"
        for (var i = names.Length - 1; i > 0; i--)
        {
            var j = (int)random.NextBelow((ulong)(i + 1));
            (names[i], names[j]) = (names[j], names[i]);
        }
        var held = Math.Clamp((int)Math.Round(names.Length * heldOutFraction), 1, names.Length - 1);
        return (names[held..], names[..held]);
    }

    /// <summary>"sha256:" + hex of SHA-256 over the file names sorted ordinally, each followed by '\n' (UTF-8).</summary>
    public static string ImagesHash(IEnumerable<string> fileNames)
    {
        var text = new System.Text.StringBuilder();
        foreach (var name in fileNames.Order(StringComparer.Ordinal)) text.Append(name).Append('\n');
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Trains on datasetFolder's images (all of labels.jsonl, or only <paramref name="fileNames"/>).</summary>
    public static FindingClassifier Train(string datasetFolder, FindingTrainingOptions? options = null, IReadOnlyCollection<string>? fileNames = null,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        options ??= FindingTrainingOptions.Default;
        options.Validate();
        var labelsPath = FindingLabelReader.LabelsPath(datasetFolder);
        var labels = FindingLabelReader.Read(labelsPath);
        var labelsHash = FindingLabelReader.Hash(labelsPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(labelsPath))!;
        var names = fileNames?.ToArray() ?? labels.Keys.ToArray();
        foreach (var name in names)
            if (!labels.ContainsKey(name)) throw new DatasetFormatException(labelsPath, 0, $"image '{name}' has no label.");
        var (trainNames, heldNames) = SplitHeldOut(names, options.HeldOutFraction, options.Seed);
        var findings = options.FindingsOrAll;
        var watch = Stopwatch.StartNew();

        var model = FindingClassifier.Create(options.Resolution, findings, options.Width, options.Seed);
        using var trainImages = model.LoadImages(trainNames.Select(n => Path.Combine(folder, n)).ToArray());
        using var heldImages = model.LoadImages(heldNames.Select(n => Path.Combine(folder, n)).ToArray());
        var trainTargets = trainNames.Select(n => FindingTargets.Vector(labels[n], findings)).ToArray();
        using var targets = tensor(trainTargets.SelectMany(v => v).ToArray(), [trainNames.Count, findings.Count]);
        log?.Invoke($"finding classifier: {trainNames.Count} training and {heldNames.Count} held-out images loaded in {watch.Elapsed.TotalSeconds:0.0} s");

        using var positiveWeight = options.BalanceClasses ? PositiveWeights(trainTargets, findings.Count) : null;
        var supervisesLesionMap = findings.Contains(Finding.Lesion);
        using var lesionMaps = LesionMaps(trainNames.Select(n => labels[n]).ToArray(), options.Resolution);
        using var lesionMapWeight = tensor(LesionMapPositiveWeight(lesionMaps));
        using var optimizer = optim.Adam(model.parameters(), lr: options.LearningRate);
        // Cosine decay to zero: the last steps settle, so the 0.5 threshold is not left wherever the last large step put it.
        var totalSteps = options.Epochs * ((trainNames.Count + options.BatchSize - 1) / options.BatchSize);
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, totalSteps);
        var order = Enumerable.Range(0, trainNames.Count).ToArray();
        model.train();
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            var random = new SplitMix64(SplitMix64.Derive(options.Seed, 0x45504F43, epoch)); // "EPOC"
            for (var i = order.Length - 1; i > 0; i--)
            {
                var j = (int)random.NextBelow((ulong)(i + 1));
                (order[i], order[j]) = (order[j], order[i]);
            }
            var lossSum = 0.0;
            var steps = 0;
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var index = tensor(order[start..Math.Min(order.Length, start + options.BatchSize)].Select(i => (long)i).ToArray());
                var batch = trainImages.index_select(0, index);
                var mapTarget = lesionMaps.index_select(0, index);
                // Mirroring keeps every target (each is side-agnostic) and doubles the views of each lesion.
                var flip = tensor(Enumerable.Range(0, (int)index.shape[0]).Select(_ => random.Next() % 2 == 0).ToArray()).view(-1, 1, 1, 1);
                batch = where(flip, batch.flip(3), batch);
                mapTarget = where(flip, mapTarget.flip(3), mapTarget);
                var (logits, map) = model.ForwardWithLesionMap(batch);
                var loss = nn.functional.binary_cross_entropy_with_logits(logits, targets.index_select(0, index), pos_weights: positiveWeight);
                if (supervisesLesionMap)
                    loss = loss.add(nn.functional.binary_cross_entropy_with_logits(map, mapTarget, pos_weights: lesionMapWeight));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                scheduler.step();
                lossSum += loss.item<float>();
                steps++;
            }
            log?.Invoke($"finding classifier: epoch {epoch + 1}/{options.Epochs} loss {lossSum / steps:0.0000} ({watch.Elapsed.TotalSeconds:0.0} s)");
        }
        model.eval();

        var probabilities = model.PredictPrepared(heldImages);
        var heldOut = findings.Select((f, c) => FindingScore.From(f,
            heldNames.Select(n => FindingTargets.Has(labels[n], f)).ToArray(),
            probabilities.Select(p => p[c]).ToArray())).ToArray();
        model.Info = model.Info with
        {
            LabelsHash = labelsHash,
            ImagesHash = ImagesHash(names),
            DatasetImageSize = labels[trainNames[0]].Size,
            TrainingImages = trainNames.Count,
            HeldOutImages = heldNames.Count,
            Epochs = options.Epochs,
            HeldOut = heldOut,
        };
        foreach (var score in heldOut) log?.Invoke($"finding classifier held-out: {score.Describe()}");
        log?.Invoke($"finding classifier: trained in {watch.Elapsed.TotalSeconds:0.0} s");
        return model;
    }

    /// <summary>
    /// Lesion map targets [N, 1, R/4, R/4]: a cell is 1 when its centre lies within the lesion's radius plus half a cell
    /// of the marked lesion centre (so even a 1-px nodule marks its cell), 0 elsewhere and in images without a lesion.
    /// </summary>
    static Tensor LesionMaps(IReadOnlyList<SynthCxrLabel> labels, int resolution)
    {
        var cells = resolution / FindingClassifier.LesionCell;
        var maps = new float[labels.Count * cells * cells];
        for (var n = 0; n < labels.Count; n++)
        {
            var label = labels[n];
            if (!(label.Nodule || label.Mass) || label.LesionCenterXPx is not { } x || label.LesionCenterYPx is not { } y || label.Size <= 0) continue;
            var scale = (double)resolution / label.Size;
            double cx = x * scale, cy = y * scale, reach = (label.LesionDiameterPx ?? 0) / 2 * scale + FindingClassifier.LesionCell / 2.0;
            for (var i = 0; i < cells; i++)
            for (var j = 0; j < cells; j++)
            {
                double dx = (j + 0.5) * FindingClassifier.LesionCell - cx, dy = (i + 0.5) * FindingClassifier.LesionCell - cy;
                if (dx * dx + dy * dy <= reach * reach) maps[(n * cells + i) * cells + j] = 1;
            }
        }
        return tensor(maps, [labels.Count, 1, cells, cells]);
    }

    /// <summary>Negative cells / positive cells, capped: lesions cover a few cells of a map, so unweighted the map would learn "never".</summary>
    static float LesionMapPositiveWeight(Tensor maps)
    {
        var positives = maps.sum().item<float>();
        var negatives = maps.numel() - positives;
        return positives == 0 ? 1f : Math.Min(50f, (float)(negatives / positives));
    }

    /// <summary>negatives / positives per finding (1 where a finding never or always occurs).</summary>
    static Tensor PositiveWeights(float[][] targets, int findings)
    {
        var weights = new float[findings];
        for (var c = 0; c < findings; c++)
        {
            var positives = targets.Count(t => t[c] > 0.5f);
            var negatives = targets.Length - positives;
            weights[c] = positives == 0 || negatives == 0 ? 1f : (float)negatives / positives;
        }
        return tensor(weights);
    }
}
