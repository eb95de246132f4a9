using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using SeLoRA.Cluster.Runs.Events;

namespace SeLoRA.Cluster.Runs;

/// <summary>
/// One training run as an event-sourced actor (persistence id "run-&lt;name&gt;"). Each <see cref="IRunCommand"/> is checked
/// against the state; a valid one is persisted and answered with its event, an invalid one answered with
/// <see cref="CommandRejected"/> and nothing persisted. A snapshot of <see cref="RunState"/> is saved every
/// <see cref="RunEntityOptions.SnapshotEvery"/> events, and older snapshots are deleted once it is stored.
/// </summary>
public sealed class RunEntity : ReceivePersistentActor
{
    public const string PersistenceIdPrefix = "run-";

    readonly RunEntityOptions _options;
    readonly ILoggingAdapter _log = Context.GetLogger();
    RunState _state;
    long? _recoveredFromSnapshot;
    long? _lastSnapshotSaved;
    (IActorRef Sender, string Command)? _pending;

    public RunEntity(string runName, RunEntityOptions options)
    {
        RunName = CheckName(runName);
        _options = options;
        _state = RunState.Initial(runName);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not RunState snapshot)
                throw new InvalidOperationException($"run {RunName}: snapshot {offer.Metadata.SequenceNr} is a {offer.Snapshot?.GetType().Name}, not a RunState.");
            _state = snapshot;
            _recoveredFromSnapshot = offer.Metadata.SequenceNr;
        });
        Recover<IRunEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
            _log.Debug("run {0} recovered: {1} at step {2}, {3} events, snapshot {4}", RunName, _state.Status, _state.Step, LastSequenceNr,
                _recoveredFromSnapshot?.ToString() ?? "none"));

        Command<GetRunStatus>(_ => Sender.Tell(new RunStatus(_state, LastSequenceNr, _recoveredFromSnapshot, _lastSnapshotSaved)));
        Command<IRunCommand>(Handle);
        Command<SaveSnapshotSuccess>(s =>
        {
            _lastSnapshotSaved = Math.Max(_lastSnapshotSaved ?? 0, s.Metadata.SequenceNr);
            if (s.Metadata.SequenceNr > 1)
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "run {0}: snapshot at event {1} not saved; recovery replays more events", RunName, f.Metadata.SequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "run {0}: older snapshots not deleted", RunName));
    }

    public string RunName { get; }

    public override string PersistenceId => PersistenceIdFor(RunName);

    public static string PersistenceIdFor(string runName) => PersistenceIdPrefix + runName;

    /// <summary>Props for the run <paramref name="runName"/>; options default to <see cref="RunEntityOptions"/>' defaults.</summary>
    public static Props Props(string runName, RunEntityOptions? options = null)
    {
        CheckName(runName);
        return Akka.Actor.Props.Create(() => new RunEntity(runName, options ?? new RunEntityOptions()));
    }

    /// <summary>A run entity's actor name: run names are folder names, which are valid actor names once escaped.</summary>
    public static string ActorNameFor(string runName) => Uri.EscapeDataString(PersistenceIdFor(runName));

    public override Recovery Recovery => _options.RecoverFromSnapshot ? base.Recovery : new Recovery(SnapshotSelectionCriteria.None);

    void Handle(IRunCommand command)
    {
        var (e, rejection) = _state.Decide(command, _options.Clock.GetUtcNow());
        if (e == null)
        {
            Sender.Tell(new CommandRejected(RunName, command.GetType().Name, _state.Status, rejection!));
            return;
        }
        _pending = (Sender, command.GetType().Name);
        Persist(e, persisted =>
        {
            _pending = null;
            _state = _state.Apply(persisted);
            Sender.Tell(persisted);
            if (_options.SnapshotEvery > 0 && LastSequenceNr % _options.SnapshotEvery == 0) SaveSnapshot(_state);
        });
    }

    /// <summary>The journal refused the event (it could not be serialized): the command's sender learns why; the entity carries on.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _pending?.Sender.Tell(new CommandRejected(RunName, _pending.Value.Command, _state.Status, $"the journal rejected the event: {cause.Message}"));
        _pending = null;
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <summary>The journal failed (database down): the sender gets a failure now instead of a timeout; the entity stops, as Akka requires.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _pending?.Sender.Tell(new Status.Failure(new IOException($"run {RunName}: the journal failed to store {@event.GetType().Name}: {cause.Message}", cause)));
        _pending = null;
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    static string CheckName(string runName) =>
        string.IsNullOrWhiteSpace(runName) || runName.Any(char.IsControl)
            ? throw new ArgumentException($"run name \"{runName}\": expected a non-empty name without control characters.", nameof(runName))
            : runName;
}
