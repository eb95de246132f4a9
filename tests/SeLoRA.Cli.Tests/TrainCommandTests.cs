using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

public sealed class TrainCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WriteConfig(string name, string extra = "")
    {
        var path = Path.Combine(_dir, name + ".hocon");
        File.WriteAllText(path, $$"""
            selora {
              data-dir = "{{Path.Combine(_dir, "runs")}}"
              logging.file = off
              # Evaluation has its own tests; here it would only slow the run down.
              eval { during-training = off, final-test = off }
              train {
                name = "{{name}}"
                seed = 3
                base-model = "{{Path.Combine(RepoPaths.Root, "assets", "tiny-base")}}"
                data {
                  dataset = "folder:{{Path.Combine(_dir, "synthcxr")}}"
                  synthcxr { count = 48, size = 64 }
                  split.fractions = [0.75, 0.125, 0.125]
                  resolution = 64
                }
                batch-size = 4
                epochs = 0
                max-steps = 80
                optimizer.learning-rate = 0.001
                selora { lambda = 1.0, test-interval = 5 }
                validation { every-steps = 20, max-samples = 4 }
                checkpoint { every-steps = 2, keep = 2 }
                generation.count = 0
                device = cpu
              }
            }
            {{extra}}
            """);
        return path;
    }

    [Fact]
    public void A_run_killed_with_sigkill_keeps_its_last_checkpoint_and_resume_latest_completes_it()
    {
        var config = WriteConfig("killed");
        var runDir = Path.Combine(_dir, "runs", "killed");
        var checkpoints = Path.Combine(runDir, "checkpoints");
        using (var process = SeloraProcess.Start(_dir, null, "train", "-c", config, "--no-progress"))
        {
            _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            _ = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!(Directory.Exists(checkpoints) && Directory.GetDirectories(checkpoints, "step-*").Length >= 2) && !process.HasExited && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Assert.False(process.HasExited, "the run finished before it could be killed");
            process.Kill(); // SIGKILL on Linux: no handler runs
            process.WaitForExit();
        }
        var metricsBefore = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl")).Length;
        Assert.InRange(metricsBefore, 4, 79);

        var resumed = SeloraProcess.Run(_dir, null, "train", "--run", runDir, "--resume", "latest", "--no-progress");
        Assert.True(resumed.ExitCode == 0, resumed.All);
        Assert.Contains("resuming killed", resumed.Stdout);
        Assert.Contains("finished: 80 steps", resumed.Stdout);
        var steps = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 80).Select(i => (long)i), steps);
        Assert.Empty(Directory.GetDirectories(checkpoints, ".tmp-*"));
        Assert.True(File.Exists(Path.Combine(runDir, "summary.md")));

        // Starting the same named run again is refused: its results are kept.
        var again = SeloraProcess.Run(_dir, null, "train", "-c", config, "--no-progress");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--resume latest", again.All);
    }

    [Fact]
    public void Bad_settings_and_mismatched_resumes_are_one_line_errors_naming_the_key()
    {
        var bad = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig("bad", "selora.train.batch-size = 0"), "--no-progress");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("selora.train.batch-size", bad.All);

        var unknown = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig("unknown", "selora.train.learning-rate = 0.1"), "--no-progress");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("selora.train.learning-rate", unknown.All);

        var first = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig("paused"), "--no-progress", "--stop-after", "4");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("paused at step 4", first.Stdout);
        var changed = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig("paused", "selora.train.seed = 4"), "--resume", "latest", "--no-progress");
        Assert.Equal(2, changed.ExitCode);
        Assert.Contains("seed: 3 -> 4", changed.All);
    }

    [Fact]
    public void Bench_train_prints_the_engine_overhead_and_selora_cost_ratios()
    {
        var bench = SeloraProcess.Run(RepoPaths.Root, null, "bench", "train", "--steps", "6", "--rounds", "1");
        Assert.True(bench.ExitCode == 0, bench.All);
        Assert.Matches(@"engine overhead \(bare/engine\)\s+\d+\.\d{3}", bench.Stdout);
        Assert.Matches(@"SeLoRA step cost / LoRA r1\s+\d+\.\d{3}", bench.Stdout);
    }
}
