using System.Globalization;
using SeLoRA.Evaluation.Reports;
using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

/// <summary>Train with evaluators on, evaluate by hand, tabulate: the user's path from runs to the paper's table.</summary>
public sealed class EvalEndToEndTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WriteConfig(string name, string method, int seed)
    {
        var path = Path.Combine(_dir, name + ".hocon");
        File.WriteAllText(path, $$"""
            selora {
              data-dir = "{{Path.Combine(_dir, "runs")}}"
              logging.file = off
              eval {
                metrics = [fd-resnet18, validation-loss]
                valid-count = 3
                test-count = 4
                steps = 2
                batch = 4
                device = cpu
              }
              train {
                name = "{{name}}"
                seed = {{seed}}
                method = {{method}}
                base-model = "{{Path.Combine(RepoPaths.Root, "assets", "tiny-base")}}"
                data {
                  dataset = "folder:{{Path.Combine(_dir, "synthcxr")}}"
                  synthcxr { count = 48, size = 64 }
                  split.fractions = [0.75, 0.125, 0.125]
                  resolution = 64
                }
                batch-size = 4
                epochs = 0
                max-steps = 8
                optimizer.learning-rate = 0.001
                selora { lambda = 1.0, test-interval = 4 }
                validation { every-steps = 4, max-samples = 4 }
                checkpoint { every-steps = 4, keep = 3 }
                generation.count = 0
                device = cpu
              }
            }
            """);
        return path;
    }

    [Fact]
    public void Runs_are_evaluated_while_they_train_and_selora_results_tabulates_their_final_test_evaluations()
    {
        var runs = Path.Combine(_dir, "runs");
        foreach (var (name, method, seed) in new[] { ("selora-s1", "selora", 1), ("selora-s2", "selora", 2), ("lora-s1", "lora", 1) })
        {
            var train = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig(name, method, seed), "--no-progress");
            Assert.True(train.ExitCode == 0, train.All);
            Assert.Contains("Final test evaluation of step", train.Stdout);
            Assert.Contains("fd-resnet18:", train.Stdout);
            var evaluations = Path.Combine(runs, name, "evaluations");
            // Both checkpoints on valid while training, then the best on test.
            Assert.True(File.Exists(Path.Combine(evaluations, "step-00000004-valid.json")), train.All);
            Assert.True(File.Exists(Path.Combine(evaluations, "step-00000008-valid.json")), train.All);
            var final = Directory.GetFiles(evaluations, "*-test.json").Select(EvaluationReport.Read).Single();
            Assert.True(final.Final);
            Assert.Equal(4, final.GeneratedCount);
        }

        // By hand: one checkpoint on valid, with other settings; the report says what produced it.
        var manual = SeloraProcess.Run(_dir, null, "eval", "--run", Path.Combine(runs, "lora-s1"), "--checkpoint", "4", "--split", "valid",
            "--count", "5", "--steps", "1", "--metrics", "fd-resnet18");
        Assert.True(manual.ExitCode == 0, manual.All);
        Assert.Contains("FD-ResNet18", manual.Stdout);
        var report = EvaluationReport.Read(Path.Combine(runs, "lora-s1", "evaluations", "step-00000004-valid.json"));
        Assert.Equal(5, report.GeneratedCount);
        Assert.Equal(1, report.InferenceSteps);
        Assert.False(report.Final);

        var missing = SeloraProcess.Run(_dir, null, "eval", "--run", Path.Combine(runs, "nope"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope", missing.All);

        var csv = SeloraProcess.Run(_dir, null, "results", runs, "--format", "csv");
        Assert.True(csv.ExitCode == 0, csv.All);
        var lines = csv.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines[0].Split(',');
        var selora = lines.Single(l => l.StartsWith("selora,", StringComparison.Ordinal)).Split(',');
        string Cell(string[] row, string column) => row[Array.IndexOf(header, column)];
        Assert.Equal("synthcxr", Cell(selora, "dataset"));
        Assert.Equal("2", Cell(selora, "n"));
        // The table's mean is the mean of the two runs' final reports.
        var values = new[] { "selora-s1", "selora-s2" }
            .Select(n => Directory.GetFiles(Path.Combine(runs, n, "evaluations"), "*-test.json").Select(EvaluationReport.Read).Single().Metrics["fd-resnet18"])
            .ToList();
        Assert.Equal(values.Average(), double.Parse(Cell(selora, "fd-resnet18_mean"), CultureInfo.InvariantCulture), 9);
        Assert.Contains(lines, l => l.StartsWith("lora,", StringComparison.Ordinal));
    }
}
