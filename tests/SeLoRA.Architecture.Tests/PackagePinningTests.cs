using System.Xml.Linq;
using SeLoRA.TestSupport;

namespace SeLoRA.Architecture.Tests;

/// <summary>Versions live in Directory.Packages.props only, and every Akka package shares one version.</summary>
public class PackagePinningTests
{
    static XDocument Pins => XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Packages.props"));

    [Fact]
    public void No_project_sets_a_package_version_of_its_own()
    {
        var offenders = Directory.EnumerateFiles(RepoPaths.Root, "*.csproj", SearchOption.AllDirectories)
            .Where(p => XDocument.Load(p).Descendants("PackageReference").Any(r => r.Attribute("Version") != null || r.Attribute("VersionOverride") != null))
            .ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public void Every_akka_package_uses_the_one_akka_version()
    {
        var akka = Pins.Descendants("PackageVersion")
            .Where(p => p.Attribute("Include")!.Value.StartsWith("Akka", StringComparison.Ordinal))
            .Where(p => p.Attribute("Include")!.Value != "Akka.Logger.Serilog") // versioned separately by its maintainers
            .ToList();
        Assert.NotEmpty(akka);
        Assert.All(akka, p => Assert.Equal("$(AkkaVersion)", p.Attribute("Version")!.Value));
    }

    [Fact]
    public void The_cpu_backend_is_linux_only_libtorch_not_the_all_platform_package()
    {
        var torch = File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "SeLoRA.Torch", "SeLoRA.Torch.csproj"));
        Assert.Contains("libtorch-cpu-linux-x64", torch);
        Assert.DoesNotContain("\"TorchSharp-cpu\"", torch);
        Assert.Contains("TorchSharp-cuda-linux", torch);
    }
}
