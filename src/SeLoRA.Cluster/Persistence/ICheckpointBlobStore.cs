namespace SeLoRA.Cluster.Persistence;

/// <summary>
/// Checkpoint files keyed by (run, step, name), such as ("selora-seed0", 400, "adapters.safetensors"). A put is atomic:
/// readers see the whole old content or the whole new one, and a failed put leaves nothing behind. A missing blob is a
/// <see cref="FileNotFoundException"/> naming the key. Names: letters, digits, '.', '_', '-', not starting with '.'.
/// </summary>
public interface ICheckpointBlobStore
{
    /// <summary>Stores <paramref name="content"/> (read to its end), replacing any blob under the same key.</summary>
    Task PutAsync(string runName, long step, string name, Stream content, CancellationToken cancellationToken = default);

    /// <summary>The blob's bytes; the caller disposes the stream.</summary>
    Task<Stream> GetAsync(string runName, long step, string name, CancellationToken cancellationToken = default);

    /// <summary>The run's blobs, ordered by step then name.</summary>
    Task<IReadOnlyList<BlobInfo>> ListAsync(string runName, CancellationToken cancellationToken = default);

    /// <summary>Deletes the blob; deleting a missing one does nothing.</summary>
    Task DeleteAsync(string runName, long step, string name, CancellationToken cancellationToken = default);
}
