using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Evaluation.Findings;

namespace SeLoRA.Evaluation.Tests.Findings;

public class RocAucTests
{
    [Fact]
    public void PerfectSeparationIsOne() =>
        Assert.Equal(1.0, RocAuc.Compute([0.1, 0.2, 0.8, 0.9], [false, false, true, true]));

    [Fact]
    public void ReversedIsZero() =>
        Assert.Equal(0.0, RocAuc.Compute([0.9, 0.8, 0.2, 0.1], [false, false, true, true]));

    [Fact]
    public void AllTiedIsHalf() =>
        Assert.Equal(0.5, RocAuc.Compute([0.3, 0.3, 0.3, 0.3, 0.3], [true, false, true, false, false]));

    [Fact]
    public void WorkedExampleWithTies()
    {
        // Positives 0.9, 0.4, 0.4; negatives 0.4, 0.3. Pairs (p > n: 1, tie: 0.5):
        // 0.9 beats both (2); each 0.4 ties 0.4 (0.5) and beats 0.3 (1) -> 1.5 each. (2 + 1.5 + 1.5) / 6 = 5/6.
        // By ranks: 0.3 -> 1, the three 0.4 share (2+3+4)/3 = 3, 0.9 -> 5; R+ = 5 + 3 + 3 = 11; (11 - 6) / 6 = 5/6.
        var auc = RocAuc.Compute([0.9, 0.4, 0.4, 0.4, 0.3], [true, true, false, true, false]);
        Assert.NotNull(auc);
        Assert.Equal(5.0 / 6.0, auc.Value, 12);
    }

    [Fact]
    public void MatchesPairCountingOnRandomScores()
    {
        var random = new Random(5);
        var scores = Enumerable.Range(0, 200).Select(_ => Math.Round(random.NextDouble(), 1)).ToArray(); // many ties
        var labels = scores.Select(s => random.NextDouble() < 0.3 + 0.4 * s).ToArray();
        double pairs = 0, wins = 0;
        for (var i = 0; i < scores.Length; i++)
        for (var j = 0; j < scores.Length; j++)
        {
            if (!labels[i] || labels[j]) continue;
            pairs++;
            wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
        }
        Assert.Equal(wins / pairs, RocAuc.Compute(scores, labels)!.Value, 12);
    }

    [Fact]
    public void OneClassIsUndefined()
    {
        Assert.Null(RocAuc.Compute([0.1, 0.7], [true, true]));
        Assert.Null(RocAuc.Compute([0.1, 0.7], [false, false]));
    }

    [Fact]
    public void FindingScoreByHand()
    {
        // Threshold 0.5: predictions T T F F T F; truth T F T F F F.
        // TP 1 (i0), FP 2 (i1, i4), FN 1 (i2), TN 2 (i3, i5): accuracy 3/6; sensitivity 1/2, specificity 2/4 -> balanced 0.5.
        // AUC: positives 0.9, 0.3 vs negatives 0.6, 0.2, 0.55, 0.1: 0.9 beats 4, 0.3 beats 2 -> 6/8.
        var score = FindingScore.From(Finding.Effusion, [true, false, true, false, false, false], [0.9, 0.6, 0.3, 0.2, 0.55, 0.1]);
        Assert.Equal(6, score.Count);
        Assert.Equal(2, score.Positives);
        Assert.Equal(0.5, score.Accuracy, 12);
        Assert.Equal(0.5, score.BalancedAccuracy!.Value, 12);
        Assert.Equal(0.75, score.Auc!.Value, 12);
        Assert.Equal(4.0 / 6.0, score.MajorityRate, 12);
    }

    [Fact]
    public void AccuracyReportsUndefinedAucAndMeansOverDefinedOnes()
    {
        static SynthCxrLabel Label(bool cardiomegaly, bool device) =>
            new() { FileName = "x.png", Text = "", Cardiomegaly = cardiomegaly, Device = device };
        // Every prompt asks for a device: its AUC and balanced accuracy are undefined.
        var prompts = new[] { Label(true, true), Label(false, true), Label(true, true), Label(false, true) };
        double[][] probabilities = [[0.9, 0.8], [0.2, 0.4], [0.4, 0.7], [0.1, 0.9]];
        var result = FindingAccuracy.Score([Finding.Cardiomegaly, Finding.Device], prompts, probabilities);
        var cardio = result.Scores[0];
        var device = result.Scores[1];
        Assert.Equal(0.75, cardio.Accuracy, 12);       // 0.4 for a positive falls under 0.5
        Assert.Equal(1.0, cardio.Auc!.Value, 12);       // 0.9, 0.4 above 0.2, 0.1
        Assert.Null(device.Auc);
        Assert.Null(device.BalancedAccuracy);
        Assert.Equal(0.75, device.Accuracy, 12);        // 0.4 < 0.5
        Assert.Equal((0.75 + 0.75) / 2, result.MeanAccuracy, 12);
        Assert.Equal(1.0, result.MeanAuc!.Value, 12);
        Assert.Equal([Finding.Device], result.UndefinedAuc);
        Assert.Contains("n/a for device: only one class asked", result.Describe());
        Assert.Null(result.ReferenceMeanAccuracy);
    }
}
