using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Evaluation.Findings;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Findings;

public class FindingClassifierTests(TrainedClassifierFixture fixture) : IClassFixture<TrainedClassifierFixture>
{
    static string Json(FindingClassifierInfo info) => System.Text.Json.JsonSerializer.Serialize(info);

    static void Print(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    [Fact]
    public void BeatsChanceOnRealImagesItNeverSaw()
    {
        var info = fixture.Classifier.Info;
        Print($"generated {TrainedClassifierFixture.TrainImages} + {TrainedClassifierFixture.FreshImages} images in {fixture.GenerateSeconds:0.0} s; " +
              $"trained on {info.TrainingImages} ({info.HeldOutImages} held out), {info.Epochs} epochs, in {fixture.TrainSeconds:0.0} s wall, {fixture.TrainCpuSeconds:0.0} s CPU");
        foreach (var line in fixture.Log.Where(l => !l.Contains("epoch"))) Print(line);
        Assert.Equal(TrainedClassifierFixture.TrainImages, info.TrainingImages + info.HeldOutImages);
        Assert.Equal(FindingLabelReader.Hash(fixture.Dataset), info.LabelsHash);

        // The trainer's held-out part, recomputed here from the split it reports.
        var labels = FindingLabelReader.Read(fixture.Dataset);
        var (train, held) = FindingClassifierTrainer.SplitHeldOut(labels.Keys, fixture.Classifier.Info.HeldOutImages / (double)TrainedClassifierFixture.TrainImages, TrainedClassifierFixture.Options.Seed);
        Assert.Equal(info.HeldOutImages, held.Count);
        Assert.Empty(train.Intersect(held));
        var heldResult = FindingAccuracy.Evaluate(fixture.Classifier, held.Select(n => Path.Combine(fixture.Dataset, n)).ToArray(), held.Select(n => labels[n]).ToArray());
        Assert.Equal(info.HeldOut!.Select(s => s.Accuracy), heldResult.Scores.Select(s => s.Accuracy));

        // A fresh dataset from another seed, never seen in training.
        var fresh = FindingAccuracy.Evaluate(fixture.Classifier, fixture.FreshPaths, fixture.FreshLabels);
        Print("fresh images: " + fresh.Describe());
        foreach (var score in fresh.Scores.Concat(heldResult.Scores))
        {
            Assert.True(score.BalancedAccuracy > 0.8, $"{score.Describe()}: balanced accuracy should exceed 0.8");
            Assert.True(score.Auc > 0.9, $"{score.Describe()}: AUC should exceed 0.9");
            Assert.True(score.Accuracy > score.MajorityRate + 0.5 * (1 - score.MajorityRate),
                $"{score.Describe()}: accuracy should close at least half the gap between chance and 1");
        }
    }

    [Fact]
    public void ShuffledPromptsDropTowardChance()
    {
        var own = FindingAccuracy.Evaluate(fixture.Classifier, fixture.FreshPaths, fixture.FreshLabels);
        // A fixed derangement-ish shuffle: each image is scored against another image's prompt.
        var random = new Random(123);
        var shuffled = fixture.FreshLabels.OrderBy(_ => random.Next()).ToArray();
        var wrong = FindingAccuracy.Evaluate(fixture.Classifier, fixture.FreshPaths, shuffled);
        Print("own prompts:      " + own.Describe());
        Print("shuffled prompts: " + wrong.Describe());
        Assert.True(own.MeanAuc > 0.95, $"own prompts: mean AUC {own.MeanAuc}");
        Assert.True(own.MeanBalancedAccuracy > 0.9, $"own prompts: mean balanced accuracy {own.MeanBalancedAccuracy}");
        Assert.True(wrong.MeanAuc < 0.65, $"shuffled prompts: mean AUC {wrong.MeanAuc} should be near 0.5");
        Assert.True(wrong.MeanBalancedAccuracy < 0.65, $"shuffled prompts: mean balanced accuracy {wrong.MeanBalancedAccuracy} should be near 0.5");
        Assert.True(own.ReferenceMeanAccuracy > 0.9);
        Assert.Contains("classifier on real held-out images", own.Describe());
    }

    [Fact]
    public void SaveLoadGivesIdenticalPredictions()
    {
        var path = Path.Combine(fixture.Root, "saved", "classifier.safetensors");
        fixture.Classifier.Save(path);
        using var loaded = FindingClassifier.Load(path);
        Assert.Equal(Json(fixture.Classifier.Info), Json(loaded.Info));
        Assert.Equal(fixture.Classifier.Info.HeldOut, loaded.Info.HeldOut);
        var before = fixture.Classifier.Predict(fixture.FreshPaths);
        var after = loaded.Predict(fixture.FreshPaths);
        for (var i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void CacheReusesTheStoredClassifierWhileTheLabelsMatch()
    {
        var path = Path.Combine(fixture.Root, "cache", "classifier.safetensors");
        fixture.Classifier.Save(path);
        var log = new List<string>();
        using (var reused = FindingClassifierCache.GetOrTrain(fixture.Dataset, TrainedClassifierFixture.Options, path, log: log.Add, cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.Contains(log, l => l.Contains("reusing"));
            Assert.Equal(Json(fixture.Classifier.Info), Json(reused.Info));
        }
        // Another resolution no longer fits; so the cache says why and retrains (one short epoch here).
        log.Clear();
        var other = TrainedClassifierFixture.Options with { Resolution = 32, Epochs = 1 };
        using (var retrained = FindingClassifierCache.GetOrTrain(fixture.Dataset, other, path, log: log.Add, cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.Contains(log, l => l.Contains("does not fit: resolution 64, asked 32"));
            Assert.Equal(32, retrained.Resolution);
        }
        Assert.Equal(32, FindingClassifier.ReadInfo(path).Resolution);
    }

    [Fact]
    public void AcceptsAnyImageSizeButRefusesUnknownFindings()
    {
        var classifier = fixture.Classifier;
        using var big = rand(3, 128, 96);
        using var prepared = classifier.Prepare(big);
        Assert.Equal([1L, 1, 64, 64], prepared.shape);
        using var small = rand(1, 40, 40);
        using var up = classifier.Prepare(small);
        Assert.Equal([1L, 1, 64, 64], up.shape);
        using var same = rand(1, 64, 64);
        using var unchanged = classifier.Prepare(same);
        Assert.True(unchanged.squeeze().allclose(same.squeeze(), rtol: 0, atol: 0));

        using var devicesOnly = FindingClassifier.Create(findings: [Finding.Device]);
        var error = Assert.Throws<ArgumentException>(() => FindingAccuracy.Evaluate(devicesOnly, fixture.FreshPaths[..2], fixture.FreshLabels.Take(2).ToArray(), [Finding.Lesion]));
        Assert.Contains("not trained for 'lesion'; it knows device", error.Message);
    }
}
