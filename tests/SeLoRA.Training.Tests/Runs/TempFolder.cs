namespace SeLoRA.Training.Tests.Runs;

/// <summary>A temp folder deleted when the test class is disposed.</summary>
public abstract class TempFolder : IDisposable
{
    protected TempFolder() => Folder = Directory.CreateTempSubdirectory("selora-runs-test-").FullName;

    protected string Folder { get; }

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
