using System.Diagnostics;
using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

/// <summary>Three `selora node` processes form a cluster on loopback and train a tiny run together.</summary>
public sealed class NodeCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-nodes-").FullName;
    readonly NodeProcesses _processes;

    public NodeCommandTests() => _processes = new NodeProcesses(_dir);

    public void Dispose()
    {
        _processes.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    string WriteConfig(string name, int workers, bool evaluate = false)
    {
        var eval = evaluate
            ? "eval { metrics = [validation-loss, fd-resnet18], valid-count = 2, test-count = 3, steps = 1, batch = 4, device = cpu }"
            // Evaluation has its own tests; here it would only slow the run down.
            : "eval { during-training = off, final-test = off }";
        var path = Path.Combine(_dir, name + ".hocon");
        File.WriteAllText(path, $$"""
            akka.cluster.split-brain-resolver.stable-after = 4s
            selora {
              data-dir = "{{Path.Combine(_dir, "runs")}}"
              logging.file = off
              {{eval}}
              cluster { step-timeout = 20s, prepare-timeout = 2m, workers = 1, device = cpu }
              command-host.port = 0
              train {
                name = "{{name}}"
                seed = 4
                base-model = "{{Path.Combine(RepoPaths.Root, "assets", "tiny-base")}}"
                data {
                  dataset = "folder:{{Path.Combine(_dir, "synthcxr")}}"
                  synthcxr { count = 60, size = 64 }
                  split.fractions = [0.8, 0.1, 0.1]
                  resolution = 64
                  latent-cache = "{{Path.Combine(_dir, "latent-cache")}}"
                }
                batch-size = 6
                epochs = 0
                max-steps = 24
                optimizer.learning-rate = 0.0001
                selora { lambda = 1.3, test-interval = 4 }
                validation { every-steps = 12, max-samples = 4 }
                checkpoint { every-steps = 12, keep = 2 }
                generation.count = 0
                device = cpu
                workers = {{workers}}
              }
            }
            """);
        return path;
    }

    Process Start(params string[] args) => _processes.Start(args);

    static (int Exit, string Output) Finish(Process p, TimeSpan timeout)
    {
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"selora node did not finish within {timeout.TotalSeconds:F0} s:\n{output.Result}{errors.Result}");
        }
        return (p.ExitCode, output.Result + errors.Result);
    }

    static string RankLines(string runDir) => File.ReadAllText(Path.Combine(runDir, "ranks.jsonl"));

    [Fact]
    public void Three_node_processes_train_a_run_and_survive_a_worker_killed_mid_run_with_the_same_ranks()
    {
        // The reference: one worker in one process.
        var reference = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig("reference", 1), "--no-progress");
        Assert.True(reference.ExitCode == 0, reference.All);

        var port = NodeProcesses.FreePort();
        var seed = $"akka.tcp://selora@127.0.0.1:{port}";
        var config = WriteConfig("cluster", 1, evaluate: true);
        // The coordinator's node also evaluates: it waits for the run's evaluations before it leaves.
        var coordinator = Start("node", "-c", config, "--roles", "coordinator,worker,evaluator", "--port", port.ToString(), "--train", "--expect-workers", "3");
        var second = Start("node", "-c", config, "--roles", "worker", "--seed-nodes", seed);
        var third = Start("node", "-c", config, "--roles", "worker", "--seed-nodes", seed);
        _ = second.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = third.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);

        // SIGKILL the third node once the run is under way.
        var metrics = Path.Combine(_dir, "runs", "cluster", "metrics.jsonl");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!(File.Exists(metrics) && File.ReadAllLines(metrics).Length >= 6) && !coordinator.HasExited && DateTime.UtcNow < deadline)
            Thread.Sleep(50);
        Assert.False(coordinator.HasExited, "the run ended before a worker could be killed");
        third.Kill();

        var (exit, output) = Finish(coordinator, TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, output);
        Assert.Contains("training on 3 worker(s)", output);
        Assert.Contains("finished: 24 steps", output);
        Assert.Matches("step \\d+: .*(did not answer|failed|lost|did not arrive)", output);
        Assert.Equal(RankLines(Path.Combine(_dir, "runs", "reference")), RankLines(Path.Combine(_dir, "runs", "cluster")));
        Assert.Contains("Final test evaluation of step", output);
        Assert.Contains("fd-resnet18:", output);
        Assert.True(File.Exists(Path.Combine(_dir, "runs", "cluster", "evaluations", "step-00000024-valid.json")), output);
    }

    [Fact]
    public async Task The_coordinators_node_killed_mid_run_hands_the_run_to_another_coordinator_which_finishes_it()
    {
        var reference = SeloraProcess.Run(_dir, null, "train", "-c", WriteConfig("failover-reference", 1), "--no-progress");
        Assert.True(reference.ExitCode == 0, reference.All);

        var port = NodeProcesses.FreePort();
        var seed = $"akka.tcp://selora@127.0.0.1:{port}";
        var config = WriteConfig("failover", 1);
        var first = Start("node", "-c", config, "--roles", "coordinator,worker", "--port", port.ToString(), "--train", "--expect-workers", "3");
        var second = Start("node", "-c", config, "--roles", "coordinator,worker", "--seed-nodes", seed);
        var third = Start("node", "-c", config, "--roles", "worker", "--seed-nodes", seed);
        var secondOutput = second.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = third.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = first.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);

        var run = Path.Combine(_dir, "runs", "failover");
        var metrics = Path.Combine(run, "metrics.jsonl");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!(Directory.Exists(Path.Combine(run, "checkpoints")) && Directory.GetDirectories(Path.Combine(run, "checkpoints"), "step-*").Length >= 1)
               && !first.HasExited && DateTime.UtcNow < deadline)
            Thread.Sleep(50);
        Assert.False(first.HasExited, "the run ended before its coordinator could be killed");
        first.Kill(); // SIGKILL: the coordinator singleton and one worker go with it

        var summary = Path.Combine(run, "summary.md");
        deadline = DateTime.UtcNow.AddMinutes(4);
        while (!(File.Exists(summary) && File.ReadAllText(summary).Contains("24", StringComparison.Ordinal) && File.ReadAllLines(metrics).Length == 24)
               && DateTime.UtcNow < deadline)
            Thread.Sleep(200);
        second.Kill();
        third.Kill();
        var secondText = await secondOutput;
        Assert.True(File.Exists(summary), $"the run was not finished by the second coordinator:\n{secondText}");
        var steps = File.ReadAllLines(metrics).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 24).Select(i => (long)i), steps);
        Assert.Equal(RankLines(Path.Combine(_dir, "runs", "failover-reference")), RankLines(run));
        // The second coordinator resumed it from a checkpoint (it did not just watch the first finish).
        var state = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "checkpoints", "step-00000024", "state.json"))).RootElement;
        Assert.NotEmpty(state.GetProperty("resumes").EnumerateArray());
    }
}
