using System.CommandLine;
using Akka.Actor;
using SeLoRA.Cli.Progress;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Nodes;
using SeLoRA.Training.Engine;
using SeLoRA.Training.Runs;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora node`: start one cluster node; with --train, also run a training run on the cluster and exit when it ends.</summary>
public static class NodeCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var roles = new Option<string?>("--roles") { Description = "Comma-separated roles: coordinator, worker, evaluator (default selora.roles)." };
        var seeds = new Option<string?>("--seed-nodes") { Description = "Comma-separated seed addresses, e.g. akka.tcp://selora@10.0.0.1:4053 (default selora.cluster.seed-nodes; none: seed a new cluster)." };
        var hostname = new Option<string?>("--hostname") { Description = "Host this node binds and announces (default selora.cluster.hostname)." };
        var port = new Option<int?>("--port") { Description = "Remoting port; 0 picks a free one (default selora.cluster.port)." };
        var workers = new Option<int?>("--workers") { Description = "Device workers on this node; 0: one per GPU (default selora.cluster.workers)." };
        var device = new Option<string?>("--device") { Description = "Device of this node's workers: auto, cpu, cuda or cuda:N." };
        var train = new Option<bool>("--train") { Description = "Coordinator nodes: train the selora.train run of -c/--overlay on the cluster, then leave and exit." };
        var expect = new Option<int>("--expect-workers") { Description = "With --train: wait for this many registered workers first.", DefaultValueFactory = _ => 1 };
        var wait = new Option<int>("--wait-seconds") { Description = "With --train: how long to wait for the workers.", DefaultValueFactory = _ => 120 };
        var resume = new Option<string?>("--resume") { Description = "With --train: continue the run (latest, best, a step or a checkpoint folder)." };
        var run = new Option<string?>("--run") { Description = "With --train: the run folder." };
        var command = new Command("node", "Start a cluster node (coordinator, worker, evaluator roles); stops on Ctrl-C or SIGTERM, leaving the cluster cleanly.");
        foreach (var option in new Option[] { roles, seeds, hostname, port, workers, device, train, expect, wait, resume, run })
            command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var (config, settings) = ConfigOptions.Load(parse);
            var options = NodeOptions.FromConfig(config);
            var list = (string? s) => s?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            options = options with
            {
                Roles = list(parse.GetValue(roles)) ?? options.Roles,
                SeedNodes = list(parse.GetValue(seeds)) ?? options.SeedNodes,
                Hostname = parse.GetValue(hostname) ?? options.Hostname,
                Port = parse.GetValue(port) ?? options.Port,
                Workers = parse.GetValue(workers) ?? options.Workers,
                Device = parse.GetValue(device) ?? options.Device,
            };
            var writer = console.Profile.Out.Writer;
            if (settings.Torch.Threads > 0) SeLoRA.Torch.TorchRuntime.SetThreads(settings.Torch.Threads);
            var recent = new RecentLogSink();
            using var logger = SeloraLogging.Install(settings with { Roles = options.Roles.ToList() }, LogScope.For(settings with { Roles = options.Roles.ToList() }), recent: recent);
            using var node = SeloraNode.Start(config, settings, options, recent);
            writer.WriteLine($"node {node.Address} up: roles {string.Join(", ", options.Roles)}, {node.Workers.Count} device worker(s), " +
                             $"seeds {(options.SeedNodes.Count == 0 ? "(this node)" : string.Join(", ", options.SeedNodes))}" +
                             (node.CommandHost is { } host ? $"; command host {host.EndPoint} (selora cmd {host.EndPoint} cluster show)" : ""));
            if (!parse.GetValue(train))
            {
                using var stop = new ManualResetEventSlim();
                // SIGINT (Ctrl-C) and SIGTERM (service managers, scripts/local-cluster.sh down): leave the cluster cleanly.
                using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c =>
                {
                    c.Cancel = true;
                    stop.Set();
                });
                using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
                {
                    c.Cancel = true;
                    stop.Set();
                });
                stop.Wait();
                writer.WriteLine($"node {node.Address} leaving");
                return 0;
            }

            if (!options.Roles.Contains(NodeRoles.Coordinator)) throw new UsageException("--train needs the coordinator role on this node.");
            var coordinator = node.Coordinator;
            var training = TrainingConfigReader.Read(config, settings.Torch.Device);
            var expected = parse.GetValue(expect);
            var deadline = DateTime.UtcNow.AddSeconds(parse.GetValue(wait));
            TrainingStatus status;
            while ((status = coordinator.Ask<TrainingStatus>(new GetTrainingStatus(), TimeSpan.FromSeconds(10)).GetAwaiter().GetResult()).Workers < expected)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TrainingFailedException($"{expected} worker(s) expected within {parse.GetValue(wait)} s; {status.Workers} registered with {coordinator.Path}.");
                Thread.Sleep(200);
            }
            var finished = new TaskCompletionSource<TrainingFinished>(TaskCreationOptions.RunContinuationsAsynchronously);
            var view = new TrainingProgressView(console, interactive: false, training.Runtime.LogEverySeconds);
            var result = view.Run(observe =>
            {
                coordinator.Tell(new SubscribeTraining(node.System.ActorOf(TrainingObserver.Props(observe, finished))));
                var answer = coordinator.Ask(new StartTraining(training.ToJson(), settings.DataDirectory, parse.GetValue(run), parse.GetValue(resume),
                    parse.GetValue(resume) is not null, null, config.GetConfig("selora.train").Root.ToString()), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
                if (answer is TrainingCommandRejected rejected) throw new TrainingFailedException(rejected.Reason);
                var done = finished.Task.GetAwaiter().GetResult();
                return done.Error is null ? done.Result! : throw new TrainingFailedException(done.Error);
            });
            // The run's evaluations, when this node evaluates, finish (and are recorded) before the node leaves.
            if (node.Evaluator is { } evaluator && result.Completed)
                SeLoRA.Cluster.Evaluators.EvaluationWait.UntilDone(coordinator, evaluator, result.Summary.RunName, options.Persist, TimeSpan.FromDays(7));
            writer.WriteLine();
            foreach (var line in SummaryMarkdown.ConsoleLines(result.Summary)) writer.WriteLine(line);
            foreach (var line in SeLoRA.Cluster.Evaluators.EvaluationLines.Final(result.RunDirectory)) writer.WriteLine(line);
            writer.WriteLine($"Run folder: {result.RunDirectory}");
            return 0;
        }));
        return command;
    }
}
