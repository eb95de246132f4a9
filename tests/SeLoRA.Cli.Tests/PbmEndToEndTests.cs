using System.Diagnostics;
using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

/// <summary>Operating a three-process cluster through the command host, as an operator would with pbm.</summary>
public sealed class PbmEndToEndTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-pbm-").FullName;
    readonly NodeProcesses _processes;

    public PbmEndToEndTests() => _processes = new NodeProcesses(_dir);

    public void Dispose()
    {
        _processes.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    string NodeConfig(string name, int commandPort)
    {
        var path = Path.Combine(_dir, name + ".hocon");
        File.WriteAllText(path, $$"""
            akka.cluster.split-brain-resolver.stable-after = 4s
            selora {
              data-dir = "{{Path.Combine(_dir, "data")}}"
              logging.file = off
              # Evaluation has its own tests; here it would only slow the run down.
              eval { during-training = off, final-test = off }
              cluster { step-timeout = 20s, workers = 1, device = cpu }
              command-host.port = {{commandPort}}
            }
            """);
        return path;
    }

    string RunConfig()
    {
        var path = Path.Combine(_dir, "run.hocon");
        File.WriteAllText(path, $$"""
            selora.train {
              name = "operated"
              seed = 2
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
              max-steps = 200
              selora { lambda = 1.3, test-interval = 10 }
              validation { every-epochs = 1000, every-steps = 100, max-samples = 4 }
              checkpoint { every-steps = 50, keep = 2 }
              generation.count = 0
              device = cpu
            }
            """);
        return path;
    }

    Process Node(params string[] args) => _processes.StartDrained(["node", .. args]);

    static SeloraProcess.Result Cmd(string address, params string[] command) => SeloraProcess.Run(Path.GetTempPath(), null, ["cmd", address, .. command]);

    static SeloraProcess.Result Until(Func<SeloraProcess.Result> call, Func<SeloraProcess.Result, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = call();
            if (done(r)) return r;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what} within {timeout.TotalSeconds:F0} s; last answer:\n{r.All}");
            Thread.Sleep(500);
        }
    }

    [Fact]
    public void Three_nodes_are_shown_trained_paused_resumed_and_a_worker_leaves_while_the_run_goes_on()
    {
        var seedPort = NodeProcesses.FreePort();
        var ports = new[] { NodeProcesses.FreePort(), NodeProcesses.FreePort(), NodeProcesses.FreePort() };
        var seed = $"akka.tcp://selora@127.0.0.1:{seedPort}";
        Node("-c", NodeConfig("seed", ports[0]), "--roles", "coordinator,worker", "--port", seedPort.ToString());
        Node("-c", NodeConfig("w1", ports[1]), "--roles", "worker", "--seed-nodes", seed);
        Node("-c", NodeConfig("w2", ports[2]), "--roles", "worker", "--seed-nodes", seed);
        var host = $"127.0.0.1:{ports[0]}";

        static int Up(SeloraProcess.Result r) => r.Stdout.Split('\n').Count(l => l.Contains("| Up |"));
        var show = Until(() => Cmd(host, "cluster", "show"), r => r.ExitCode == 0 && Up(r) == 3, TimeSpan.FromMinutes(1), "3 members up");
        Assert.Contains("Count: 3 nodes", show.Stdout);
        Assert.Contains("[coordinator, worker]", show.Stdout);
        Until(() => Cmd(host, "train", "status"), r => r.Stdout.Contains("3 worker(s) registered"), TimeSpan.FromSeconds(30), "3 workers registered");

        var start = Cmd(host, "train", "start", "-c", RunConfig());
        Assert.True(start.ExitCode == 0, start.All);
        Assert.Contains("on 3 worker(s)", start.Stdout);
        Until(() => Cmd(host, "train", "status", "operated"), r => r.Stdout.Contains("Running") && !r.Stdout.Contains("step 0/"), TimeSpan.FromMinutes(2), "steps recorded");

        var pause = Cmd(host, "train", "pause", "operated");
        Assert.True(pause.ExitCode == 0, pause.All);
        Assert.Contains("paused", pause.Stdout);
        var status = Cmd(host, "train", "status", "operated");
        Assert.Contains("Paused", status.Stdout);
        // The pause freed the workers' models.
        Until(() => Cmd($"127.0.0.1:{ports[1]}", "node", "workers"), r => r.Stdout.Contains("idle (no model held)"), TimeSpan.FromSeconds(30), "an idle worker");

        var resume = Cmd(host, "train", "resume", "operated");
        Assert.True(resume.ExitCode == 0, resume.All);
        Until(() => Cmd(host, "train", "status"), r => r.Stdout.Contains("running") && r.Stdout.Contains("at step"), TimeSpan.FromSeconds(30), "resumed");

        // A worker leaves gracefully mid-run: the run goes on without it.
        var leave = Cmd($"127.0.0.1:{ports[2]}", "cluster", "leave");
        Assert.True(leave.ExitCode == 0, leave.All);
        var done = Until(() => Cmd(host, "train", "status", "operated"), r => r.Stdout.Contains("Completed"), TimeSpan.FromMinutes(6), "the run to complete");
        Assert.Contains("step 200/200", done.Stdout);
        var list = Cmd(host, "train", "list");
        Assert.Contains("operated | Completed | step 200/200", list.Stdout);
        var ranks = Cmd(host, "train", "ranks", "operated");
        Assert.Contains("Layers: 48", ranks.Stdout);

        var export = Cmd(host, "ckpt", "export", "operated", "--best", "--format", "kohya", "--out", Path.Combine(_dir, "exported.safetensors"));
        Assert.True(export.ExitCode == 0, export.All);
        Assert.True(File.Exists(Path.Combine(_dir, "exported.safetensors")));

        var unknown = Cmd(host, "nosuch", "thing");
        Assert.NotEqual(0, unknown.ExitCode);
    }
}
