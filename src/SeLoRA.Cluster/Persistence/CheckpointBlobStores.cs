using Akka.Configuration;
using SeLoRA.Cluster.Hosting;

namespace SeLoRA.Cluster.Persistence;

/// <summary>Builds the checkpoint blob store that <c>selora.persistence.blob-store</c> chooses.</summary>
public static class CheckpointBlobStores
{
    public const string BackendKey = "selora.persistence.blob-store";

    /// <summary>Blob files live here under the data directory when the store is the file system.</summary>
    public const string FolderName = "blobs";

    public static ICheckpointBlobStore FromConfig(Config config, SeloraSettings settings) =>
        Create(settings, config.GetString(BackendKey, "auto"));

    /// <summary>
    /// <paramref name="backend"/>: filesystem (&lt;data-dir&gt;/blobs), database (the journal's database), or auto: the
    /// database with PostgreSQL (machines then share nothing else), the file system with SQLite.
    /// </summary>
    public static ICheckpointBlobStore Create(SeloraSettings settings, string backend)
    {
        var postgres = settings.Persistence.Provider == "postgres";
        switch (backend)
        {
            case "filesystem":
            case "auto" when !postgres:
                return new FileSystemCheckpointBlobStore(Path.Combine(settings.DataDirectory, FolderName));
            case "database":
            case "auto":
                var (_, connectionString) = PersistenceHocon.Target(settings);
                return new DatabaseCheckpointBlobStore(postgres ? BlobDatabase.Postgres : BlobDatabase.Sqlite, connectionString);
            default:
                throw new ConfigurationException($"setting {BackendKey} = {backend}: expected auto, filesystem or database.");
        }
    }

    /// <summary>
    /// The checkpoint mirror a cluster needs: with PostgreSQL (or an explicit blob-store setting) checkpoints are copied
    /// into the store; with the embedded SQLite default on one machine, none (the run folder already holds them).
    /// </summary>
    public static BlobCheckpointMirror? MirrorFromConfig(Config config, SeloraSettings settings)
    {
        var backend = config.GetString(BackendKey, "auto");
        return backend == "auto" && settings.Persistence.Provider != "postgres" ? null : new BlobCheckpointMirror(Create(settings, backend));
    }
}
