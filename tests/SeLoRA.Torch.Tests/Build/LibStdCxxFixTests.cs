using SeLoRA.Build;
using SeLoRA.TestSupport;

namespace SeLoRA.Torch.Tests.Build;

/// <summary>The build's Debian 12 fix (build/TorchSharpNative.targets), checked on the real TorchSharp native library.</summary>
public class LibStdCxxFixTests
{
    const string Version = "GLIBCXX_3.4.32";
    const string LibraryName = "libLibTorchSharp.so";

    static string PackagedLibrary()
    {
        var path = Path.Combine(RepoPaths.NuGetPackageRoot, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", LibraryName);
        Requirements.Require(File.Exists(path), $"TorchSharp's packaged native library at {path} (restore the solution first)");
        return path;
    }

    static string CopiedLibrary() => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibraryName);

    static bool SystemHasVersion() =>
        ElfVersionNeed.FindSystemLibStdCxx() is { } system && ElfVersionNeed.DefinesVersion(system, Version);

    [Fact]
    public void The_packaged_library_needs_the_version_strictly()
    {
        var needs = ElfVersionNeed.ListVersionNeeds(File.ReadAllBytes(PackagedLibrary()));
        var need = Assert.Single(needs, n => n.Key == Version);
        Assert.Equal(0, need.Value & ElfVersionNeed.VerFlagWeak);
        Assert.Contains(needs, n => n.Key == "GLIBCXX_3.4");
    }

    [Fact]
    public void Marking_weak_changes_one_flag_and_is_idempotent()
    {
        var original = File.ReadAllBytes(PackagedLibrary());
        var copy = Path.Combine(Path.GetTempPath(), $"selora-elf-{Guid.NewGuid():N}.so");
        File.WriteAllBytes(copy, original);
        try
        {
            Assert.Equal(VersionNeedPatch.Patched, ElfVersionNeed.MarkWeak(copy, Version));
            var once = File.ReadAllBytes(copy);
            Assert.Equal(VersionNeedPatch.AlreadyWeak, ElfVersionNeed.MarkWeak(copy, Version));
            Assert.Equal(once, File.ReadAllBytes(copy));

            Assert.Equal(original.Length, once.Length);
            var changed = Enumerable.Range(0, once.Length).Where(i => once[i] != original[i]).ToList();
            Assert.Single(changed);
            Assert.Equal(ElfVersionNeed.VerFlagWeak, once[changed[0]] ^ original[changed[0]]);

            var needs = ElfVersionNeed.ListVersionNeeds(once);
            Assert.All(needs, n => Assert.Equal(n.Key == Version, (n.Value & ElfVersionNeed.VerFlagWeak) != 0));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void A_version_the_library_does_not_need_leaves_it_untouched()
    {
        var original = File.ReadAllBytes(PackagedLibrary());
        var bytes = (byte[])original.Clone();
        Assert.Equal(VersionNeedPatch.NotReferenced, ElfVersionNeed.MarkWeak(bytes, "GLIBCXX_9.9.99"));
        Assert.Equal(original, bytes);
    }

    [Fact]
    public void A_file_that_is_not_ELF_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionNeed.MarkWeak(new byte[128], Version));
    }

    [Fact]
    public void The_build_patched_its_copy_exactly_when_the_system_lacks_the_version()
    {
        Requirements.Require(OperatingSystem.IsLinux(), "the libstdc++ fix applies to Linux only");
        var copied = CopiedLibrary();
        Assert.True(File.Exists(copied), $"the build should copy {copied}");
        var need = ElfVersionNeed.ListVersionNeeds(File.ReadAllBytes(copied)).Single(n => n.Key == Version);
        var weak = (need.Value & ElfVersionNeed.VerFlagWeak) != 0;
        Assert.Equal(!SystemHasVersion(), weak);
    }
}
