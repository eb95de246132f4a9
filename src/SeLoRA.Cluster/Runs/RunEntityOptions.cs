namespace SeLoRA.Cluster.Runs;

/// <summary>
/// How a run entity persists. <paramref name="SnapshotEvery"/>: a snapshot after every that many events (0: never);
/// <paramref name="RecoverFromSnapshot"/>: false replays every event (a check that snapshots agree with the journal).
/// </summary>
public sealed record RunEntityOptions(int SnapshotEvery = RunEntityOptions.DefaultSnapshotEvery, bool RecoverFromSnapshot = true)
{
    public const int DefaultSnapshotEvery = 100;

    /// <summary>The setting read by <see cref="FromConfig"/>.</summary>
    public const string SnapshotEveryKey = "selora.persistence.snapshot-every";

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public static RunEntityOptions FromConfig(Akka.Configuration.Config config)
    {
        var every = config.GetInt(SnapshotEveryKey, DefaultSnapshotEvery);
        if (every < 0) throw new Akka.Configuration.ConfigurationException($"setting {SnapshotEveryKey} = {every}: expected 0 (never) or a positive count of events.");
        return new RunEntityOptions(every);
    }
}
