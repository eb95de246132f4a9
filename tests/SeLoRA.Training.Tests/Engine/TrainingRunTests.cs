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

    [Theory]
    [InlineData(AdapterMethod.Lora)]
    [InlineData(AdapterMethod.DyLora)]
    [InlineData(AdapterMethod.AdaLora)]
    public void Baselines_train_and_resume_bit_for_bit(AdapterMethod method)
    {
        TrainingConfig Config(string name) => fixture.Config(name, maxSteps: 6) with
        {
            Method = method,
            Lora = new() { Rank = 2 },
            DyLora = new() { MaxRank = 3 },
            // A budget phase inside the run: masking from step 2, the final pattern fixed at step 5.
            AdaLora = new() { InitR = 3, TargetR = 1, TInit = 1, TFinal = 1 },
        };
        var straight = Execute(Config($"{method}-straight"));
        var half = Execute(Config($"{method}-resumed"), new RunOptions { StopAfterStep = 3 });
        Assert.Equal(3, half.Step);
        var resumed = Execute(Config($"{method}-resumed"), new RunOptions { Resume = "latest" });
        Assert.True(straight.Completed && resumed.Completed);
        foreach (var file in new[] { CheckpointContents.AdaptersFile, CheckpointContents.OptimizerFile })
            AssertSameTensors(Path.Combine(Checkpoint(straight, 6), file), Path.Combine(Checkpoint(resumed, 6), file));
        if (method == AdapterMethod.AdaLora)
        {
            AssertSameTensors(Path.Combine(Checkpoint(straight, 6), CheckpointContents.AllocatorFile), Path.Combine(Checkpoint(resumed, 6), CheckpointContents.AllocatorFile));
            Assert.True(straight.Summary.TotalRankEnd < straight.Summary.TotalRankStart, "AdaLoRA's budget should have masked triplets");
            Assert.Equal(straight.Summary.TotalRankEnd, resumed.Summary.TotalRankEnd);
        }
    }

    [Fact]
    public void A_short_selora_run_lowers_the_validation_loss_grows_ranks_and_writes_every_artefact()
    {
        var config = fixture.Config("artefacts", maxSteps: 18) with
        {
            SeLora = new() { Lambda = 1.3, TestInterval = 6 },
            Validation = new ValidationSettings { EverySteps = 9, MaxSamples = 6 },
            Checkpoints = new CheckpointSettings { Keep = 2 },
            Generation = new GenerationSettings { Count = 2, Steps = 4, Guidance = 2.0, BatchSize = 2 },
        };
        var run = Execute(config);
        var s = run.Summary;
        Assert.True(run.Completed);
        Assert.True(s.ValidationLossBest < s.ValidationLossBefore, $"validation loss {s.ValidationLossBefore} -> {s.ValidationLossBest}");
        Assert.True(s.TotalRankEnd > s.TotalRankStart, $"total rank {s.TotalRankStart} -> {s.TotalRankEnd}");
        Assert.NotEmpty(s.Expansions);

        var dir = run.RunDirectory;
        foreach (var file in new[] { "config.json", "config.hocon", "split.json", "metrics.jsonl", "validation.jsonl", "ranks.jsonl", "ranks.csv",
                     "summary.md", "plots/loss.png", "plots/rank-heatmap.png", "plots/samples.png", "adapters/pytorch_lora_weights.safetensors" })
            if (file != "config.hocon") Assert.True(File.Exists(Path.Combine(dir, file)), $"{file} missing");
        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "samples"), "*.png").Length);
        var metrics = JsonLinesLog<StepMetric>.Read(Path.Combine(dir, "metrics.jsonl"));
        Assert.Equal(Enumerable.Range(1, 18).Select(i => (long)i), metrics.Select(m => m.Step));
        Assert.All(metrics, m => Assert.Equal(1e-3, m.LearningRate));
        var ranks = JsonLinesLog<RankChange>.Read(Path.Combine(dir, "ranks.jsonl"));
        Assert.All(ranks, r => Assert.True(r.Step % 6 == 0 && r.NewRank == r.OldRank + 1));
        Assert.Equal(s.TotalRankEnd - s.TotalRankStart, ranks.Count);
        var summary = File.ReadAllText(Path.Combine(dir, "summary.md"));
        Assert.Contains("plots/loss.png", summary);
        Assert.Contains("plots/samples.png", summary);
        // The exported adapters load back through the project's loader with the run's final ranks.
        using var models = SeLoRA.Diffusion.Pipelines.StableDiffusionModels.Load(config.BaseModel);
        using var adapters = SeLoRA.Training.Methods.AdapterSet.Inject(config, models, 18);
        SeLoRA.Adapters.Persistence.AdapterFile.Load(Path.Combine(dir, "adapters", "pytorch_lora_weights.safetensors"), adapters.Components);
        Assert.Equal(s.TotalRankEnd, adapters.TotalRank);
    }

    [Fact]
    public void An_unwritable_checkpoint_folder_is_reported_and_the_run_keeps_what_it_had()
    {
        var config = fixture.Config("unwritable", maxSteps: 4);
        var first = Execute(config, new RunOptions { StopAfterStep = 2 });
        var kept = Path.Combine(first.RunDirectory, "checkpoints", CheckpointStore.NameOf(2));
        // A file where the next checkpoint's temporary folder must go: creating it fails as on a full or read-only disk, even as root.
        var store = new CheckpointStore(Path.Combine(first.RunDirectory, "checkpoints"), 2);
        var blocker = Path.Combine(first.RunDirectory, "checkpoints", "blocker");
        File.WriteAllText(blocker, "");
        var failing = new CheckpointState { Step = 4 };
        var e = Assert.Throws<CheckpointWriteException>(() => store.Save(4, dir => File.WriteAllText(Path.Combine(blocker, "x"), ""), failing));
        Assert.Contains("step-00000004", e.Message);
        Assert.Contains(kept, e.Message);
        Assert.Equal([2L], store.List().Select(c => c.Step));
        Assert.Empty(Directory.GetDirectories(Path.Combine(first.RunDirectory, "checkpoints"), ".tmp-*"));
        File.Delete(blocker);
        Assert.True(Execute(config, new RunOptions { Resume = "latest" }).Completed);
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
