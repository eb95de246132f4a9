namespace SeLoRA.Cluster.Persistence;

/// <summary>One stored checkpoint file: its key (run, step, name), its size in bytes and when it was stored.</summary>
public sealed record BlobInfo(string RunName, long Step, string Name, long Length, DateTimeOffset StoredUtc);
