using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Cluster.Persistence;
using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Runs.Events;
using SeLoRA.Cluster.Tests.Persistence;

namespace SeLoRA.Cluster.Tests.Runs;

/// <summary>The run entity on a real journal: SQLite always, PostgreSQL when SELORA_TEST_POSTGRES names one.</summary>
public class RunEntityTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    static ActorSystem StartSystem(TestDatabase db) =>
        ActorSystem.Create("runs-test", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            """).WithFallback(PersistenceHocon.For(db.Settings)));

    static async Task<T> Ask<T>(IActorRef entity, object message) => await entity.Ask<T>(message, Timeout);

    static async Task<IRunEvent> Accepted(IActorRef entity, IRunCommand command)
    {
        var reply = await entity.Ask<object>(command, Timeout);
        return reply as IRunEvent ?? throw new Xunit.Sdk.XunitException($"{command.GetType().Name} got {reply}");
    }

    static async Task StopAsync(IActorRef entity) => await entity.GracefulStop(Timeout);

    static async Task AwaitSnapshot(IActorRef entity, long sequenceNr)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while ((await Ask<RunStatus>(entity, GetRunStatus.Instance)).LastSnapshotSaved != sequenceNr)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no snapshot at event {sequenceNr} within {Timeout}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_new_actor_system_recovers_the_state_the_entity_persisted(string kind)
    {
        await using var db = await TestDatabase.CreateAsync(kind);
        var name = "run-" + Guid.NewGuid().ToString("N")[..8];
        var script = RunScript.Full().Take(12).ToList(); // up to the second best checkpoint, still running
        RunStatus before;
        var events = new List<IRunEvent>();
        var system = StartSystem(db);
        try
        {
            var entity = system.ActorOf(RunEntity.Props(name), RunEntity.ActorNameFor(name));
            foreach (var command in script) events.Add(await Accepted(entity, command));
            before = await Ask<RunStatus>(entity, GetRunStatus.Instance);
        }
        finally
        {
            await system.Terminate();
        }
        Assert.Equal(script.Count, before.SequenceNr);
        Assert.IsType<StepsCompleted>(events[1]);

        var again = StartSystem(db);
        try
        {
            var entity = again.ActorOf(RunEntity.Props(name), RunEntity.ActorNameFor(name));
            var after = await Ask<RunStatus>(entity, GetRunStatus.Instance);
            Assert.Equal(RunScript.Json(before.State), RunScript.Json(after.State));
            Assert.Equal(RunScript.Json(RunState.Replay(name, events)), RunScript.Json(after.State));
            Assert.Equal(before.SequenceNr, after.SequenceNr);
            Assert.Null(after.RecoveredFromSnapshot);
            Assert.Equal(RunPhase.Running, after.State.Status);
            Assert.Equal(25, after.State.Step);
            Assert.Equal(3, after.State.Ranks["unet.down.0.to_q"]);
            Assert.Equal((0.29, 25L), (after.State.BestValidationLoss!.Value, after.State.BestStep!.Value));
            Assert.NotEqual(default, after.State.StartedUtc);

            // The recovered entity carries on where the first left off.
            Assert.IsType<StepsCompleted>(await Accepted(entity, RunScript.Steps(26, 30)));
        }
        finally
        {
            await again.Terminate();
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Recovery_from_a_snapshot_and_later_events_equals_replaying_every_event(string kind)
    {
        await using var db = await TestDatabase.CreateAsync(kind);
        var name = "snap-" + Guid.NewGuid().ToString("N")[..8];
        var script = RunScript.Full();
        var events = new List<IRunEvent>();
        var system = StartSystem(db);
        try
        {
            var entity = system.ActorOf(RunEntity.Props(name, new RunEntityOptions(SnapshotEvery: 4)), "writer");
            foreach (var command in script) events.Add(await Accepted(entity, command));
            Assert.Equal(15, (await Ask<RunStatus>(entity, GetRunStatus.Instance)).SequenceNr);
            // Snapshots are saved in the background; wait for the last one so the recovery below can use it.
            await AwaitSnapshot(entity, 12);
            await StopAsync(entity);
        }
        finally
        {
            await system.Terminate();
        }

        var again = StartSystem(db);
        try
        {
            var fromSnapshot = again.ActorOf(RunEntity.Props(name, new RunEntityOptions(SnapshotEvery: 4)), "from-snapshot");
            var snapshotStatus = await Ask<RunStatus>(fromSnapshot, GetRunStatus.Instance);
            await StopAsync(fromSnapshot);
            var fromEvents = again.ActorOf(RunEntity.Props(name, new RunEntityOptions(SnapshotEvery: 4, RecoverFromSnapshot: false)), "from-events");
            var eventStatus = await Ask<RunStatus>(fromEvents, GetRunStatus.Instance);

            Assert.Equal(12, snapshotStatus.RecoveredFromSnapshot);
            Assert.Null(eventStatus.RecoveredFromSnapshot);
            Assert.Equal(15, snapshotStatus.SequenceNr);
            Assert.Equal(15, eventStatus.SequenceNr);
            Assert.Equal(RunScript.Json(eventStatus.State), RunScript.Json(snapshotStatus.State));
            Assert.Equal(RunScript.Json(RunState.Replay(name, events)), RunScript.Json(snapshotStatus.State));
            Assert.Equal(RunPhase.Completed, snapshotStatus.State.Status);
        }
        finally
        {
            await again.Terminate();
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Invalid_commands_are_rejected_and_persist_nothing(string kind)
    {
        await using var db = await TestDatabase.CreateAsync(kind);
        var name = "bad-" + Guid.NewGuid().ToString("N")[..8];
        var system = StartSystem(db);
        try
        {
            var entity = system.ActorOf(RunEntity.Props(name), "entity");
            var early = await Ask<CommandRejected>(entity, new PauseRun("too early"));
            Assert.Equal((name, nameof(PauseRun), RunPhase.NotStarted), (early.RunName, early.Command, early.Status));
            Assert.Contains("is NotStarted", early.Reason);
            Assert.Equal(0, (await Ask<RunStatus>(entity, GetRunStatus.Instance)).SequenceNr);

            await Accepted(entity, RunScript.Start());
            Assert.Contains("is Running", (await Ask<CommandRejected>(entity, new ResumeRun(0))).Reason);
            Assert.Contains("starts at 1", (await Ask<CommandRejected>(entity, RunScript.Steps(2, 3))).Reason);
            Assert.Contains("is Running", (await Ask<CommandRejected>(entity, RunScript.Start())).Reason);
            var status = await Ask<RunStatus>(entity, GetRunStatus.Instance);
            Assert.Equal(1, status.SequenceNr);
            Assert.Equal(0, status.State.Step);
            await StopAsync(entity);

            var recovered = system.ActorOf(RunEntity.Props(name), "recovered");
            var after = await Ask<RunStatus>(recovered, GetRunStatus.Instance);
            Assert.Equal(1, after.SequenceNr);
            Assert.Equal(RunScript.Json(status.State), RunScript.Json(after.State));
        }
        finally
        {
            await system.Terminate();
        }
    }
}
