using System.Reflection;

namespace SeLoRA.Cli;

public static class VersionInfo
{
    /// <summary>The informational version, as `--version` prints it.</summary>
    public static string Text { get; } =
        typeof(VersionInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
