using Akka.Actor;
using Akka.Persistence;

namespace SeLoRA.Cluster.Runs;

/// <summary>
/// The names of every run the cluster has started (persistence id "run-index"), so a coordinator that takes over after
/// another one's node was lost can find the runs that were still training.
/// </summary>
public sealed class RunIndex : ReceivePersistentActor
{
    public const string Id = "run-index";
    readonly SortedSet<string> names = new(StringComparer.Ordinal);

    public RunIndex()
    {
        Recover<RunIndexed>(e => names.Add(e.Name));
        Command<IndexRun>(m =>
        {
            if (names.Contains(m.Name))
            {
                Sender.Tell(new RunIndexed(m.Name));
                return;
            }
            Persist(new RunIndexed(m.Name), e =>
            {
                names.Add(e.Name);
                Sender.Tell(e);
            });
        });
        Command<GetIndexedRuns>(_ => Sender.Tell(new IndexedRuns(names.ToArray())));
    }

    public override string PersistenceId => Id;

    public static Props Props() => Akka.Actor.Props.Create(() => new RunIndex());
}
