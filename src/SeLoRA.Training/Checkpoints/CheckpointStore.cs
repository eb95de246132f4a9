using System.Globalization;

namespace SeLoRA.Training.Checkpoints;

/// <summary>
/// The checkpoints of a run: &lt;run&gt;/checkpoints/step-NNNNNNNN/ folders and best/. A checkpoint is written whole into
/// a hidden temporary folder and then renamed into place, so a killed process leaves either the complete new checkpoint or
/// none (and the previous ones intact); leftovers are removed on the next open. Only the newest <c>keep</c> regular
/// checkpoints stay; best/ is replaced, never pruned.
/// </summary>
public sealed class CheckpointStore
{
    const string Prefix = "step-";
    const string TempPrefix = ".tmp-";
    public const string BestName = "best";
    const string OldBestName = ".old-best";

    public CheckpointStore(string directory, int keep)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "keep at least one checkpoint");
        Directory = Path.GetFullPath(directory);
        Keep = keep;
    }

    public string Directory { get; }

    public int Keep { get; }

    public string BestDirectory => Path.Combine(Directory, BestName);

    /// <summary>Removes temporary leftovers of an interrupted save and completes an interrupted swap of best/.</summary>
    public void Recover()
    {
        if (!System.IO.Directory.Exists(Directory)) return;
        foreach (var temp in System.IO.Directory.EnumerateDirectories(Directory, TempPrefix + "*"))
            System.IO.Directory.Delete(temp, recursive: true);
        var oldBest = Path.Combine(Directory, OldBestName);
        if (System.IO.Directory.Exists(oldBest))
        {
            if (System.IO.Directory.Exists(BestDirectory)) System.IO.Directory.Delete(oldBest, recursive: true);
            else System.IO.Directory.Move(oldBest, BestDirectory);
        }
    }

    /// <summary>Complete regular checkpoints, oldest first.</summary>
    public IReadOnlyList<CheckpointInfo> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        return System.IO.Directory.EnumerateDirectories(Directory, Prefix + "*")
            .Where(d => File.Exists(Path.Combine(d, CheckpointState.FileName)))
            .Select(d => new CheckpointInfo(d, CheckpointState.Read(Path.Combine(d, CheckpointState.FileName))))
            .OrderBy(c => c.Step)
            .ToList();
    }

    public CheckpointInfo? Latest() => List().LastOrDefault();

    public CheckpointInfo? Best() =>
        File.Exists(Path.Combine(BestDirectory, CheckpointState.FileName))
            ? new CheckpointInfo(BestDirectory, CheckpointState.Read(Path.Combine(BestDirectory, CheckpointState.FileName)))
            : null;

    /// <summary>"latest", "best", a checkpoint folder, or a step number of this run.</summary>
    public CheckpointInfo Resolve(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        if (reference == "latest")
            return Latest() ?? throw new FileNotFoundException($"{Directory}: the run has no complete checkpoint to resume from.");
        if (reference == BestName)
            return Best() ?? throw new FileNotFoundException($"{BestDirectory}: the run has no best checkpoint yet.");
        if (long.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
            return List().FirstOrDefault(c => c.Step == step)
                   ?? throw new FileNotFoundException($"{Directory}: no checkpoint at step {step}; kept: {string.Join(", ", List().Select(c => c.Step))}.");
        var path = Path.GetFullPath(reference);
        return new CheckpointInfo(path, CheckpointState.Read(Path.Combine(path, CheckpointState.FileName)));
    }

    public static string NameOf(long step) => $"{Prefix}{step:D8}";

    /// <summary>
    /// Writes a checkpoint: <paramref name="write"/> fills a temporary folder, which is then renamed to step-N/ (replacing
    /// an older checkpoint of the same step); then the oldest beyond <see cref="Keep"/> are deleted. On any I/O failure the
    /// temporary folder is removed and a <see cref="CheckpointWriteException"/> says what failed and what was kept.
    /// </summary>
    public CheckpointInfo Save(long step, Action<string> write, CheckpointState state)
    {
        var target = Path.Combine(Directory, NameOf(step));
        WriteAtomically(target, write, state);
        foreach (var old in List().SkipLast(Keep)) System.IO.Directory.Delete(old.Directory, recursive: true);
        return new CheckpointInfo(target, state);
    }

    /// <summary>Replaces best/ with a copy of a saved checkpoint (the swap survives a kill at any point; see <see cref="Recover"/>).</summary>
    public CheckpointInfo SaveBest(CheckpointInfo source)
    {
        var temp = Path.Combine(Directory, $"{TempPrefix}{BestName}-{Guid.NewGuid():N}");
        try
        {
            System.IO.Directory.CreateDirectory(temp);
            foreach (var file in System.IO.Directory.EnumerateFiles(source.Directory))
                File.Copy(file, Path.Combine(temp, Path.GetFileName(file)));
            var oldBest = Path.Combine(Directory, OldBestName);
            if (System.IO.Directory.Exists(oldBest)) System.IO.Directory.Delete(oldBest, recursive: true);
            if (System.IO.Directory.Exists(BestDirectory)) System.IO.Directory.Move(BestDirectory, oldBest);
            System.IO.Directory.Move(temp, BestDirectory);
            if (System.IO.Directory.Exists(oldBest)) System.IO.Directory.Delete(oldBest, recursive: true);
            return new CheckpointInfo(BestDirectory, source.State);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CheckpointWriteException(
                $"could not write the best checkpoint in {Directory}: {e.Message}. The previous best checkpoint is kept.", e);
        }
    }

    void WriteAtomically(string target, Action<string> write, CheckpointState state)
    {
        var temp = Path.Combine(Directory, $"{TempPrefix}{Path.GetFileName(target)}-{Guid.NewGuid():N}");
        try
        {
            System.IO.Directory.CreateDirectory(temp);
            write(temp);
            state.Write(Path.Combine(temp, CheckpointState.FileName));
            if (System.IO.Directory.Exists(target)) System.IO.Directory.Delete(target, recursive: true);
            System.IO.Directory.Move(temp, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            var kept = SafeLatest();
            throw new CheckpointWriteException(
                $"could not write checkpoint {Path.GetFileName(target)} in {Directory}: {e.Message}. " +
                (kept is null ? "No earlier checkpoint exists." : $"The previous checkpoint {kept} is kept."), e);
        }
    }

    string? SafeLatest()
    {
        try
        {
            return Latest()?.Directory;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    static void TryDelete(string directory)
    {
        try
        {
            if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The disk may be full or read-only; a leftover temporary folder is removed by Recover on the next open.
        }
    }
}
