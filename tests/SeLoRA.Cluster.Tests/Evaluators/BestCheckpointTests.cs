using SeLoRA.Cluster.Evaluators;
using SeLoRA.Evaluation.Reports;

namespace SeLoRA.Cluster.Tests.Evaluators;

public sealed class BestCheckpointTests
{
    static EvaluationReport Report(long step, string metric, double value, string split = "valid", bool final = false) => new()
    {
        RunName = "r",
        Split = split,
        Step = step,
        Final = final,
        CheckpointName = $"step-{step:D8}",
        Metrics = new(StringComparer.Ordinal) { [metric] = value },
    };

    [Fact]
    public void Lower_is_better_for_distances_and_higher_for_scores_and_ties_go_to_the_earlier_step()
    {
        var fd = new[] { Report(10, "fd-resnet18", 5), Report(20, "fd-resnet18", 3), Report(30, "fd-resnet18", 3), Report(40, "fd-resnet18", 9) };
        Assert.Equal(20, BestCheckpoint.Select(fd, "fd-resnet18")!.Step);
        var clip = new[] { Report(10, "clip-score", 20), Report(20, "clip-score", 31), Report(30, "clip-score", 25) };
        Assert.Equal(20, BestCheckpoint.Select(clip, "clip-score")!.Step);
    }

    [Fact]
    public void Deleted_checkpoints_test_reports_and_missing_or_non_finite_values_are_not_candidates()
    {
        var reports = new[]
        {
            Report(10, "fid", 1), Report(20, "fid", 2), Report(30, "fid", 0.5, split: "test", final: true), Report(40, "fid", double.NaN),
            Report(50, "clip-score", 99),
        };
        Assert.Equal(20, BestCheckpoint.Select(reports, "fid", r => r.Step != 10)!.Step);
        Assert.Null(BestCheckpoint.Select(reports, "finding-accuracy"));
    }
}
