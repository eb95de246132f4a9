using System.Globalization;
using SeLoRA.Training.Checkpoints;

namespace SeLoRA.Cluster.Persistence;

/// <summary>
/// Mirrors a run's checkpoints into a <see cref="ICheckpointBlobStore"/> (the database in a multi-machine cluster), so
/// nothing but the database has to be shared. Keys: step N holds checkpoint N's files under their own names; step 0
/// holds the run files a resume needs ("run.config.json", "run.split.json") and the best checkpoint ("best.*").
/// </summary>
public sealed class BlobCheckpointMirror(ICheckpointBlobStore store) : ICheckpointMirror
{
    const string RunPrefix = "run.";
    const string BestPrefix = "best.";
    static readonly string[] RunFiles = ["config.json", "split.json"];

    public ICheckpointBlobStore Store { get; } = store;

    public void Saved(string runName, string runDirectory, CheckpointInfo checkpoint, bool best)
    {
        foreach (var file in RunFiles)
        {
            var path = Path.Combine(runDirectory, file);
            if (File.Exists(path)) Put(runName, 0, RunPrefix + file, path);
        }
        foreach (var path in Directory.EnumerateFiles(checkpoint.Directory))
            Put(runName, best ? 0 : checkpoint.Step, (best ? BestPrefix : "") + Path.GetFileName(path), path);
    }

    public void Retain(string runName, IReadOnlyCollection<long> keptSteps)
    {
        foreach (var blob in Store.ListAsync(runName).GetAwaiter().GetResult())
            if (blob.Step > 0 && !keptSteps.Contains(blob.Step))
                Store.DeleteAsync(runName, blob.Step, blob.Name).GetAwaiter().GetResult();
    }

    public bool TryRestore(string runName, string runDirectory, string reference)
    {
        var blobs = Store.ListAsync(runName).GetAwaiter().GetResult();
        if (blobs.Count == 0) return false;
        Directory.CreateDirectory(runDirectory);
        foreach (var file in RunFiles)
        {
            var target = Path.Combine(runDirectory, file);
            if (!File.Exists(target) && blobs.Any(b => b.Step == 0 && b.Name == RunPrefix + file)) Get(runName, 0, RunPrefix + file, target);
        }
        var checkpoints = Path.Combine(runDirectory, "checkpoints");
        if (reference == CheckpointStore.BestName)
        {
            var best = blobs.Where(b => b.Step == 0 && b.Name.StartsWith(BestPrefix, StringComparison.Ordinal)).ToList();
            if (best.Count == 0) return false;
            Restore(runName, best.Select(b => (b.Step, b.Name, b.Name[BestPrefix.Length..])), Path.Combine(checkpoints, CheckpointStore.BestName));
            return true;
        }
        var steps = blobs.Where(b => b.Step > 0 && b.Name == CheckpointState.FileName).Select(b => b.Step).ToList();
        long? step = reference == "latest" ? (steps.Count > 0 ? steps.Max() : null)
            : long.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && steps.Contains(s) ? s : null;
        if (step is not { } chosen) return false;
        Restore(runName, blobs.Where(b => b.Step == chosen).Select(b => (b.Step, b.Name, b.Name)), Path.Combine(checkpoints, CheckpointStore.NameOf(chosen)));
        return true;
    }

    /// <summary>Writes the files into a temporary folder, then renames it into place (as the checkpoint store does).</summary>
    void Restore(string runName, IEnumerable<(long Step, string Blob, string File)> files, string target)
    {
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".tmp-restore-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var (step, blob, file) in files) Get(runName, step, blob, Path.Combine(temp, file));
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(temp, target);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    void Put(string runName, long step, string name, string path)
    {
        using var stream = File.OpenRead(path);
        Store.PutAsync(runName, step, name, stream).GetAwaiter().GetResult();
    }

    void Get(string runName, long step, string name, string path)
    {
        using var source = Store.GetAsync(runName, step, name).GetAwaiter().GetResult();
        using var target = File.Create(path);
        source.CopyTo(target);
    }
}
