using SeLoRA.Torch.Safetensors;
using SeLoRA.Training.Checkpoints;
using SeLoRA.Training.Configuration;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Engine;

public sealed class TrainingRunTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    RunResult Execute(TrainingConfig config, RunOptions? options = null) =>
        TrainingRun.Execute(config, (options ?? new RunOptions()) with { RunsRoot = fixture.RunsRoot });

    static string Checkpoint(RunResult run, long step) => Path.Combine(run.RunDirectory, "checkpoints", CheckpointStore.NameOf(step));

    /// <summary>Every tensor of two safetensors files equal bit for bit (same names, dtypes, shapes, bytes) and the same metadata.</summary>
    static void AssertSameTensors(string expectedPath, string actualPath)
    {
        var expectedHeader = SafetensorsFile.ReadHeader(expectedPath);
        var actualHeader = SafetensorsFile.ReadHeader(actualPath);
        Assert.Equal(expectedHeader.Metadata.OrderBy(k => k.Key), actualHeader.Metadata.OrderBy(k => k.Key));
        var expected = SafetensorsFile.Load(expectedPath);
        var actual = SafetensorsFile.Load(actualPath);
        try
        {
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (name, tensor) in expected)
                Assert.True(tensor.dtype == actual[name].dtype && tensor.shape.SequenceEqual(actual[name].shape) && tensor.bytes.ToArray().AsSpan().SequenceEqual(actual[name].bytes.ToArray()),
                    $"{Path.GetFileName(actualPath)}: tensor {name} differs");
        }
        finally
        {
            foreach (var t in expected.Values.Concat(actual.Values)) t.Dispose();
        }
    }

    [Fact]
    public void Straight_run_equals_half_then_resume_then_half_bit_for_bit_with_an_expansion_inside()
    {
        var straight = Execute(fixture.Config("straight"));
        Assert.True(straight.Completed);
        Assert.Equal(8, straight.Step);
        var expansions = JsonLinesLog<RankChange>.Read(Path.Combine(straight.RunDirectory, "ranks.jsonl"));
        Assert.Contains(expansions, e => e.Step > 4 && e.NewRank > e.OldRank); // an expansion after the resume point
        Assert.Contains(expansions, e => e.Step <= 4 && e.NewRank > e.OldRank); // and one before it, restored by the resume

        var half = Execute(fixture.Config("resumed"), new RunOptions { StopAfterStep = 4 });
        Assert.False(half.Completed);
        Assert.Equal(4, half.Step);
        var resumed = Execute(fixture.Config("resumed"), new RunOptions { Resume = "latest" });
        Assert.True(resumed.Completed);
        Assert.Equal(8, resumed.Step);

        AssertSameTensors(Path.Combine(Checkpoint(straight, 8), CheckpointContents.AdaptersFile), Path.Combine(Checkpoint(resumed, 8), CheckpointContents.AdaptersFile));
        AssertSameTensors(Path.Combine(Checkpoint(straight, 8), CheckpointContents.OptimizerFile), Path.Combine(Checkpoint(resumed, 8), CheckpointContents.OptimizerFile));
        var a = CheckpointState.Read(Path.Combine(Checkpoint(straight, 8), CheckpointState.FileName));
        var b = CheckpointState.Read(Path.Combine(Checkpoint(resumed, 8), CheckpointState.FileName));
        Assert.Equal(a.Ranks.OrderBy(k => k.Key), b.Ranks.OrderBy(k => k.Key));
        Assert.Equal(a.NextEpoch, b.NextEpoch);
        Assert.Equal(a.NextBatch, b.NextBatch);
        Assert.Equal(a.BestValidationLoss, b.BestValidationLoss);
        Assert.Equal([4L], b.Resumes);
        // The logs hold each step once, with the same losses.
        var straightLosses = JsonLinesLog<StepMetric>.Read(Path.Combine(straight.RunDirectory, "metrics.jsonl")).Select(m => (m.Step, m.Loss, m.TotalRank));
        var resumedLosses = JsonLinesLog<StepMetric>.Read(Path.Combine(resumed.RunDirectory, "metrics.jsonl")).Select(m => (m.Step, m.Loss, m.TotalRank));
        Assert.Equal(straightLosses, resumedLosses);

        // Determinism: the same config and seed run again gives the same bytes.
        var again = Execute(fixture.Config("again"));
        AssertSameTensors(Path.Combine(Checkpoint(straight, 8), CheckpointContents.AdaptersFile), Path.Combine(Checkpoint(again, 8), CheckpointContents.AdaptersFile));
        AssertSameTensors(Path.Combine(Checkpoint(straight, 8), CheckpointContents.OptimizerFile), Path.Combine(Checkpoint(again, 8), CheckpointContents.OptimizerFile));

        // The best checkpoint is the one with the lowest validation loss.
        var validations = JsonLinesLog<ValidationMetric>.Read(Path.Combine(straight.RunDirectory, "validation.jsonl")).Where(v => v.Step > 0).ToList();
        Assert.Equal([2L, 4, 6, 8], validations.Select(v => v.Step));
        var lowest = validations.MinBy(v => v.Loss)!;
        var best = CheckpointState.Read(Path.Combine(straight.RunDirectory, "checkpoints", "best", CheckpointState.FileName));
        Assert.Equal(lowest.Step, best.Step);
        Assert.Equal(lowest.Loss, best.ValidationLoss);
        Assert.Equal(lowest.Step, straight.Summary.BestStep);
        // Retention: two regular checkpoints kept.
        Assert.Equal([6L, 8], new CheckpointStore(Path.Combine(straight.RunDirectory, "checkpoints"), 2).List().Select(c => c.Step));
    }

    [Fact]
    public void A_resume_with_a_changed_config_or_base_model_is_refused_naming_what_differs()
    {
        // A private copy of the base model, so it can be changed under the run.
        var copy = Path.Combine(fixture.Root, "refuse-base");
        CopyDirectory(fixture.Config("x").BaseModel, copy);
        TrainingConfig Config() => fixture.Config("refuse", maxSteps: 4) with { BaseModel = copy };
        var first = Execute(Config(), new RunOptions { StopAfterStep = 2 });
        Assert.False(first.Completed);
        var before = Snapshot(first.RunDirectory);

        var changed = Config() with { Optimization = Config().Optimization with { Adam = new() { LearningRate = 5e-4 } } };
        var refused = Assert.Throws<ResumeRefusedException>(() => Execute(changed, new RunOptions { Resume = "latest" }));
        Assert.Contains("optimization.adam.learning-rate: 0.001 -> 0.0005", refused.Message);

        File.AppendAllText(Path.Combine(copy, "scheduler", "scheduler_config.json"), "\n");
        var baseChanged = Assert.Throws<ResumeRefusedException>(() => Execute(Config(), new RunOptions { Resume = "latest" }));
        Assert.Contains("base model differs", baseChanged.Message);

        // The refusals changed nothing in the run folder.
        Assert.Equal(before, Snapshot(first.RunDirectory));
    }

    static List<(string, long)> Snapshot(string directory) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order().Select(f => (f, new FileInfo(f).Length)).ToList();

    [Fact]
    public void A_new_run_in_a_folder_with_checkpoints_is_refused()
    {
        var first = Execute(fixture.Config("taken", maxSteps: 2));
        Assert.True(first.Completed);
        var e = Assert.Throws<ArgumentException>(() => Execute(fixture.Config("taken", maxSteps: 2)));
        Assert.Contains("--resume latest", e.Message);
    }

    static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
