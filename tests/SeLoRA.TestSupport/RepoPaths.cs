using System.Reflection;

namespace SeLoRA.TestSupport;

/// <summary>Where the repository, its hocon/ folder and the external reference data are, found at run time.</summary>
public static class RepoPaths
{
    public const string SharedReferenceVariable = "SELORA_SHARED_REFERENCE";

    public static string Root { get; } = FindRoot();

    public static string Hocon => Path.Combine(Root, "hocon");

    /// <summary>../shared/reference beside the checkout (or $SELORA_SHARED_REFERENCE); it is never copied into the project.</summary>
    public static string SharedReference =>
        Environment.GetEnvironmentVariable(SharedReferenceVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.GetFullPath(Path.Combine(Root, "..", "shared", "reference"));

    /// <summary>A file or folder under the shared reference data; skips (or fails under CI) when it is absent.</summary>
    public static string RequireShared(string relativePath)
    {
        var path = Path.Combine(SharedReference, relativePath);
        Requirements.Require(File.Exists(path) || Directory.Exists(path),
            $"reference data {path} is missing (it lives in ../shared/reference beside the checkout, or set {SharedReferenceVariable})");
        return path;
    }

    /// <summary>The NuGet package folder the build restored from.</summary>
    public static string NuGetPackageRoot { get; } =
        typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeLoRA.Cluster.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"SeLoRA.Cluster.sln not found above {AppContext.BaseDirectory}");
    }
}
