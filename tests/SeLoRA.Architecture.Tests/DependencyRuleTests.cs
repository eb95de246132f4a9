using System.Xml.Linq;
using SeLoRA.TestSupport;

namespace SeLoRA.Architecture.Tests;

/// <summary>The one-way dependency rule of the README's architecture map, read from the project files.</summary>
public class DependencyRuleTests
{
    /// <summary>Each project and the projects it may reference directly.</summary>
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["SeLoRA.Torch"] = [],
        ["SeLoRA.Adapters"] = ["SeLoRA.Torch"],
        ["SeLoRA.Diffusion"] = ["SeLoRA.Torch"],
        ["SeLoRA.Data"] = ["SeLoRA.Torch", "SeLoRA.Diffusion"],
        ["SeLoRA.Training"] = ["SeLoRA.Adapters", "SeLoRA.Diffusion", "SeLoRA.Data", "SeLoRA.Torch"],
        ["SeLoRA.Evaluation"] = ["SeLoRA.Torch", "SeLoRA.Diffusion", "SeLoRA.Data"],
        ["SeLoRA.Cluster"] = ["SeLoRA.Training", "SeLoRA.Evaluation", "SeLoRA.Adapters", "SeLoRA.Diffusion", "SeLoRA.Data", "SeLoRA.Torch"],
        ["SeLoRA.Cli"] = ["SeLoRA.Cluster", "SeLoRA.Training", "SeLoRA.Evaluation", "SeLoRA.Adapters", "SeLoRA.Diffusion", "SeLoRA.Data", "SeLoRA.Torch"],
    };

    static IEnumerable<string> ProjectFiles(string folder) =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*.csproj", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));

    static IEnumerable<string> References(string csproj) =>
        XDocument.Load(csproj).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')));

    [Fact]
    public void Every_source_project_is_in_the_map()
    {
        var projects = ProjectFiles("src").Select(Path.GetFileNameWithoutExtension).Order().ToList();
        Assert.Equal(Allowed.Keys.Order(), projects);
    }

    [Fact]
    public void Source_projects_reference_only_what_the_map_allows()
    {
        var violations = ProjectFiles("src")
            .SelectMany(p => References(p).Select(r => (From: Path.GetFileNameWithoutExtension(p), To: r)))
            .Where(e => !Allowed[e.From].Contains(e.To))
            .Select(e => $"{e.From} -> {e.To}")
            .ToList();
        Assert.Empty(violations);
    }

    [Fact]
    public void Only_the_cluster_project_and_above_know_about_actors()
    {
        var actorFree = new[] { "SeLoRA.Torch", "SeLoRA.Adapters", "SeLoRA.Diffusion", "SeLoRA.Data", "SeLoRA.Training", "SeLoRA.Evaluation" };
        var offenders = ProjectFiles("src")
            .Where(p => actorFree.Contains(Path.GetFileNameWithoutExtension(p)))
            .Where(p => XDocument.Load(p).Descendants("PackageReference")
                .Any(r => r.Attribute("Include")!.Value.StartsWith("Akka", StringComparison.Ordinal)))
            .ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public void Test_projects_mirror_source_projects()
    {
        var sources = ProjectFiles("src").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        var strays = ProjectFiles("tests").Select(Path.GetFileNameWithoutExtension)
            .Where(t => t!.EndsWith(".Tests", StringComparison.Ordinal))
            .Where(t => t != "SeLoRA.Architecture.Tests" && !sources.Contains(t![..^".Tests".Length]))
            .ToList();
        Assert.Empty(strays);
    }
}
