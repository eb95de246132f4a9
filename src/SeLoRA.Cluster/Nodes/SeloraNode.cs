using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using SeLoRA.Cluster.Coordination;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Persistence;
using SeLoRA.Cluster.Serialization;
using SeLoRA.Cluster.Transport;
using SeLoRA.Cluster.Workers;
using SeLoRA.Torch.Devices;

namespace SeLoRA.Cluster.Nodes;

/// <summary>
/// One cluster node: an Akka.Cluster actor system with remoting on the given host and port, the tensor data channel,
/// and the actors of its roles: the training coordinator (/user/coordinator, runs recorded in the database) and device
/// workers that offer themselves to every coordinator that comes up.
/// </summary>
public sealed class SeloraNode : IDisposable
{
    SeloraNode(ActorSystem system, IActorRef coordinator, IReadOnlyList<IActorRef> workers, SeLoRA.Cluster.Commands.CommandHostHandle? commandHost,
        IActorRef? evaluator)
    {
        Evaluator = evaluator;
        System = system;
        Coordinator = coordinator;
        Workers = workers;
        CommandHost = commandHost;
    }

    /// <summary>The pbm-style command host of this node (null when selora.command-host.enabled is off).</summary>
    public SeLoRA.Cluster.Commands.CommandHostHandle? CommandHost { get; }

    public ActorSystem System { get; }

    /// <summary>The cluster's coordinator (a singleton proxy, on every node).</summary>
    public IActorRef Coordinator { get; }

    public IReadOnlyList<IActorRef> Workers { get; }

    /// <summary>This node's evaluator (evaluator role, with selora.eval on), or null.</summary>
    public IActorRef? Evaluator { get; }

    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    /// <param name="recentLog">This process's in-memory log lines, for `node log peek`.</param>
    public static SeloraNode Start(Config layered, SeloraSettings settings, NodeOptions options, RecentLogSink? recentLog = null)
    {
        var unknown = options.Roles.FirstOrDefault(r => !SeloraSettings.KnownRoles.Contains(r));
        if (options.Roles.Count == 0 || unknown is not null)
            throw new ArgumentException($"--roles: '{unknown ?? ""}' is not a role; use coordinator, worker and/or evaluator.");
        var quote = (string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var node = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = {{quote(options.Hostname)}}
            akka.remote.dot-netty.tcp.port = {{options.Port}}
            akka.cluster.roles = [{{string.Join(", ", options.Roles.Select(quote))}}]
            akka.cluster.seed-nodes = [{{string.Join(", ", options.SeedNodes.Select(quote))}}]
            """);
        var config = node.WithFallback(TensorSerialization.SerializationConfig);
        var coordinating = options.Roles.Contains(NodeRoles.Coordinator);
        if (coordinating && options.Persist) config = config.WithFallback(PersistenceHocon.For(settings));
        config = config.WithFallback(layered);
        var system = ActorSystem.Create(SeloraAkkaHosting.ActorSystemName, config);
        try
        {
            TensorTransport.Start(system, TensorTransportSettings.FromConfig(config));
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (options.SeedNodes.Count == 0) cluster.Join(cluster.SelfAddress);
            var mirror = options.Persist ? CheckpointBlobStores.MirrorFromConfig(config, settings) : null;
            var evaluation = SeLoRA.Cluster.Evaluators.EvaluationSettings.FromConfig(config);
            // One coordinator in the cluster: a singleton on the oldest coordinator node, moving to the next one if that
            // node is lost; it then resumes the runs the journal shows as still training.
            if (coordinating)
                system.ActorOf(ClusterSingletonManager.Props(
                    TrainingCoordinator.Props(new CoordinatorOptions(options.PrepareTimeout, options.StepTimeout, options.Persist,
                        EntityOptions: SeLoRA.Cluster.Runs.RunEntityOptions.FromConfig(config), Mirror: mirror,
                        RecoverRunsUnder: options.Persist ? settings.DataDirectory : null, Evaluation: evaluation)),
                    PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system).WithRole(NodeRoles.Coordinator).WithSingletonName("singleton")), NodeRoles.CoordinatorActorName);
            var coordinator = system.ActorOf(ClusterSingletonProxy.Props($"/user/{NodeRoles.CoordinatorActorName}",
                ClusterSingletonProxySettings.Create(system).WithRole(NodeRoles.Coordinator).WithSingletonName("singleton")), "coordinator-proxy");
            var workers = new List<(IActorRef, string)>();
            var board = new WorkerStatusBoard();
            if (options.Roles.Contains(NodeRoles.Worker))
                foreach (var (device, i) in WorkerDevices(options).Select((d, i) => (d, i)))
                    workers.Add((system.ActorOf(DeviceWorker.Props(device, mirror, board), $"worker-{i}"), device));
            IReadOnlyList<IActorRef> evaluators = options.Roles.Contains(NodeRoles.Evaluator) && (evaluation.DuringTraining || evaluation.FinalTest)
                ? [system.ActorOf(SeLoRA.Cluster.Evaluators.EvaluatorActor.Props(evaluation, EvaluationDevice(evaluation, options.Device)), "evaluator")]
                : [];
            if (workers.Count > 0 || evaluators.Count > 0)
                system.ActorOf(WorkerRegistrar.Props(coordinator, workers, TimeSpan.FromSeconds(3), evaluators), "worker-registrar");
            var hostSettings = SeLoRA.Cluster.Commands.CommandHostSettings.FromConfig(config);
            var host = hostSettings.Enabled
                ? StartCommandHost(system, hostSettings,
                [
                    new SeLoRA.Cluster.Palettes.ClusterPalette(system),
                    new SeLoRA.Cluster.Palettes.TrainPalette(system, coordinator, settings, HoconLoader.LocateDirectory()),
                    new SeLoRA.Cluster.Palettes.CkptPalette(settings.DataDirectory, mirror),
                    new SeLoRA.Cluster.Palettes.NodePalette(board, recentLog),
                ])
                : null;
            return new SeloraNode(system, coordinator, workers.Select(w => w.Item1).ToList(), host, evaluators.FirstOrDefault());
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
    }

    static SeLoRA.Cluster.Commands.CommandHostHandle StartCommandHost(ActorSystem system, SeLoRA.Cluster.Commands.CommandHostSettings settings,
        IEnumerable<SeLoRA.Cluster.Commands.ICommandPalette> palettes)
    {
        try
        {
            return SeLoRA.Cluster.Commands.CommandHost.Start(system, settings, palettes);
        }
        catch (Exception e) when (e is global::System.Net.Sockets.SocketException or IOException)
        {
            throw new ConfigurationException(
                $"setting selora.command-host.port = {settings.Port}: cannot listen on {settings.Hostname}:{settings.Port} ({e.Message}); " +
                "give each node on this machine its own port, or 0 for any free one.");
        }
    }

    /// <summary>Waits until the cluster has <paramref name="members"/> members up; the timeout message names how many are.</summary>
    public void WaitForMembers(int members, TimeSpan timeout)
    {
        var cluster = Akka.Cluster.Cluster.Get(System);
        var deadline = DateTime.UtcNow + timeout;
        while (cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) < members)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{members} cluster members expected within {timeout.TotalSeconds:F0} s; up: " +
                                           string.Join(", ", cluster.State.Members.Select(m => $"{m.Address} ({m.Status})")));
            Thread.Sleep(50);
        }
    }

    /// <summary>selora.eval.device, else the node's device; "auto" picks a GPU when there is one.</summary>
    public static string EvaluationDevice(SeLoRA.Cluster.Evaluators.EvaluationSettings evaluation, string nodeDevice) =>
        evaluation.Device.Length > 0 ? evaluation.Device : nodeDevice;

    static IReadOnlyList<string> WorkerDevices(NodeOptions options)
    {
        if (options.Workers > 0) return LocalTraining.Devices(options.Device, options.Workers);
        var gpus = DevicePicker.Available().Count(d => d.type == TorchSharp.DeviceType.CUDA);
        return options.Device is "auto" or "cuda" && gpus > 0 ? Enumerable.Range(0, gpus).Select(i => $"cuda:{i}").ToList() : [options.Device == "auto" ? "cpu" : options.Device];
    }

    public void Dispose()
    {
        CommandHost?.Dispose();
        var cluster = Akka.Cluster.Cluster.Get(System);
        cluster.LeaveAsync().Wait(TimeSpan.FromSeconds(10));
        System.Terminate().Wait(TimeSpan.FromSeconds(20));
    }
}
