using SeLoRA.Cluster.Hosting;
using SeLoRA.TestSupport;

namespace SeLoRA.Cluster.Tests.Hosting;

public sealed class HoconLoaderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-hocon-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Defaults_alone_give_the_documented_values()
    {
        var settings = SeloraSettings.From(HoconLoader.Load(RepoPaths.Hocon));
        Assert.Equal(["coordinator", "worker", "evaluator"], settings.Roles);
        Assert.Equal("auto", settings.Torch.Device);
        Assert.Equal("sqlite", settings.Persistence.Provider);
        Assert.Equal(Serilog.Events.LogEventLevel.Information, settings.Logging.Level);
        Assert.Equal(Environment.MachineName, settings.NodeName);
    }

    [Fact]
    public void Overlays_then_files_are_layered_and_the_last_wins()
    {
        var first = Write("first.hocon", "selora {\n torch { device = cpu\n threads = 3 }\n node-name = alpha\n}");
        var second = Write("second.hocon", "selora.node-name = beta");
        var config = HoconLoader.Load(RepoPaths.Hocon, ["roles/worker", "persistence/postgres"], [first, second]);
        var settings = SeloraSettings.From(config);
        Assert.Equal(["worker"], settings.Roles);
        Assert.Equal("postgres", settings.Persistence.Provider);
        Assert.Equal("cpu", settings.Torch.Device);
        Assert.Equal(3, settings.Torch.Threads);
        Assert.Equal("beta", settings.NodeName);
        Assert.Equal("selora.db", settings.Persistence.SqliteDatabase); // untouched defaults survive
    }

    [Fact]
    public void An_unknown_setting_is_an_error_naming_the_file_and_the_key()
    {
        var file = Write("typo.hocon", "selora.torch.devcie = cpu");
        var error = Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, files: [file]));
        Assert.Equal(file, error.File);
        Assert.Contains("selora.torch.devcie", error.Message);
        Assert.Contains(file, error.Message);
    }

    [Fact]
    public void A_missing_overlay_lists_the_ones_that_exist()
    {
        var error = Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, ["roles/wroker"]));
        Assert.Contains("roles/wroker", error.Message);
        Assert.Contains("roles/worker", error.Message);
        Assert.Contains("persistence/postgres", error.Message);
    }

    [Fact]
    public void Missing_and_malformed_files_name_the_file()
    {
        var missing = Path.Combine(_dir, "nope.hocon");
        Assert.Contains(missing, Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, files: [missing])).Message);
        var unclosed = Write("unclosed.hocon", "selora { torch { device = cpu }\n# a } in a comment does not count\nx = \"}\"");
        var error = Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, files: [unclosed]));
        Assert.Equal(unclosed, error.File);
        Assert.Contains("1 '{' not closed", error.Message);
        var garbled = Write("garbled.hocon", "selora { torch { device = cpu }, x = 1 }");
        Assert.Equal(garbled, Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, files: [garbled])).File);
        var extra = Write("extra.hocon", "selora { }\n}");
        Assert.Contains("line 2", Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, files: [extra])).Message);
    }

    [Fact]
    public void Leaf_paths_flatten_nested_objects()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("a {\n b { c = 1\n d = [x] }\n e = 2\n}");
        Assert.Equal(["a.b.c", "a.b.d", "a.e"], HoconLoader.LeafPaths(config).Order(StringComparer.Ordinal));
    }
}
