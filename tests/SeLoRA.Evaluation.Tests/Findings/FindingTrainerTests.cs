using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Evaluation.Findings;

namespace SeLoRA.Evaluation.Tests.Findings;

public class FindingTrainerTests
{
    [Fact]
    public void SameSeedTrainsTheSameClassifier()
    {
        var dir = Directory.CreateTempSubdirectory("selora-findings-seed-");
        try
        {
            SynthCxrGenerator.Generate(dir.FullName, 40, 64, seed: 5);
            var options = new FindingTrainingOptions(Epochs: 2, Seed: 9);
            using var a = FindingClassifierTrainer.Train(dir.FullName, options, cancellationToken: TestContext.Current.CancellationToken);
            using var b = FindingClassifierTrainer.Train(dir.FullName, options, cancellationToken: TestContext.Current.CancellationToken);
            using var c = FindingClassifierTrainer.Train(dir.FullName, options with { Seed = 10 }, cancellationToken: TestContext.Current.CancellationToken);
            var paths = Directory.GetFiles(dir.FullName, "*.png").Order().ToArray();
            var pa = a.Predict(paths);
            var pb = b.Predict(paths);
            var pc = c.Predict(paths);
            for (var i = 0; i < paths.Length; i++) Assert.Equal(pa[i], pb[i]);
            Assert.NotEqual(pa[0], pc[0]);
            Assert.Equal(32, a.Info.TrainingImages);
            Assert.Equal(8, a.Info.HeldOutImages);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void HeldOutSplitIsDisjointDeterministicAndOrderFree()
    {
        var names = Enumerable.Range(0, 50).Select(SynthCxrGenerator.FileNameOf).ToArray();
        var (train, held) = FindingClassifierTrainer.SplitHeldOut(names, 0.2, 4);
        var (train2, held2) = FindingClassifierTrainer.SplitHeldOut(names.Reverse(), 0.2, 4);
        Assert.Equal(10, held.Count);
        Assert.Equal(40, train.Count);
        Assert.Empty(train.Intersect(held));
        Assert.Equal(held, held2);
        Assert.Equal(train, train2);
        Assert.NotEqual(held, FindingClassifierTrainer.SplitHeldOut(names, 0.2, 5).HeldOut);
    }

    [Fact]
    public void UnknownImageNamesTheLabelsFile()
    {
        var dir = Directory.CreateTempSubdirectory("selora-findings-names-");
        try
        {
            SynthCxrGenerator.Generate(dir.FullName, 4, 64);
            var error = Assert.Throws<SeLoRA.Data.Datasets.DatasetFormatException>(() =>
                FindingClassifierTrainer.Train(dir.FullName, fileNames: ["cxr_000000.png", "other.png"], cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains("labels.jsonl: image 'other.png' has no label", error.Message);
        }
        finally { dir.Delete(true); }
    }
}
