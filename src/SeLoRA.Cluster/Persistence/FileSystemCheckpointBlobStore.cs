namespace SeLoRA.Cluster.Persistence;

/// <summary>
/// Blobs as files &lt;root&gt;/&lt;run&gt;/&lt;step, 12 digits&gt;/&lt;name&gt;. A put writes a hidden temporary file beside the target,
/// flushes it to disk and renames it over the target, so a crash leaves the old file or the new one, never half of one.
/// </summary>
public sealed class FileSystemCheckpointBlobStore(string root) : ICheckpointBlobStore
{
    const string TempPrefix = ".tmp-";

    public string Root { get; } = Path.GetFullPath(root);

    public string PathOf(string runName, long step, string name)
    {
        BlobKeys.Check(runName, step, name);
        return Path.Combine(Root, runName, StepFolder(step), name);
    }

    public async Task PutAsync(string runName, long step, string name, Stream content, CancellationToken cancellationToken = default)
    {
        var target = PathOf(runName, step, name);
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $"{TempPrefix}{Guid.NewGuid():N}-{name}");
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(file, 1 << 20, cancellationToken);
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public Task<Stream> GetAsync(string runName, long step, string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(runName, step, name);
        try
        {
            return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw BlobKeys.NotFound(Root, runName, step, name);
        }
    }

    public Task<IReadOnlyList<BlobInfo>> ListAsync(string runName, CancellationToken cancellationToken = default)
    {
        BlobKeys.CheckRun(runName);
        var runFolder = new DirectoryInfo(Path.Combine(Root, runName));
        if (!runFolder.Exists) return Task.FromResult<IReadOnlyList<BlobInfo>>([]);
        var blobs = new List<BlobInfo>();
        foreach (var stepFolder in runFolder.EnumerateDirectories())
        {
            if (!long.TryParse(stepFolder.Name, System.Globalization.NumberStyles.None, null, out var step)) continue;
            blobs.AddRange(stepFolder.EnumerateFiles()
                .Where(f => !f.Name.StartsWith('.'))
                .Select(f => new BlobInfo(runName, step, f.Name, f.Length, new DateTimeOffset(f.LastWriteTimeUtc, TimeSpan.Zero))));
        }
        return Task.FromResult<IReadOnlyList<BlobInfo>>(blobs.OrderBy(b => b.Step).ThenBy(b => b.Name, StringComparer.Ordinal).ToList());
    }

    public Task DeleteAsync(string runName, long step, string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(runName, step, name);
        if (File.Exists(path)) File.Delete(path);
        var folder = Path.GetDirectoryName(path)!;
        // An emptied step folder goes too, so listing stays cheap; another writer may have just added a file.
        try
        {
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }

    static string StepFolder(long step) => step.ToString("D12", System.Globalization.CultureInfo.InvariantCulture);

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
