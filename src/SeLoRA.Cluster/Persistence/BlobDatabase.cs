namespace SeLoRA.Cluster.Persistence;

/// <summary>The database a <see cref="DatabaseCheckpointBlobStore"/> writes to.</summary>
public enum BlobDatabase
{
    Sqlite,
    Postgres,
}
