using Akka.Configuration;
using SeLoRA.Cluster.Hosting;
using SeLoRA.TestSupport;

namespace SeLoRA.Cluster.Tests.Hosting;

public class SeloraSettingsTests
{
    static Config Defaults => HoconLoader.LoadDefaults(RepoPaths.Hocon);

    static ConfigurationException Rejects(string overlay) =>
        Assert.Throws<ConfigurationException>(() => SeloraSettings.From(ConfigurationFactory.ParseString(overlay).WithFallback(Defaults)));

    [Theory]
    [InlineData("selora.logging.level = Loud", "selora.logging.level")]
    [InlineData("selora.roles = [trainer]", "selora.roles")]
    [InlineData("selora.roles = []", "selora.roles")]
    [InlineData("selora.persistence.provider = mysql", "selora.persistence.provider")]
    [InlineData("selora.torch.threads = -2", "selora.torch.threads")]
    [InlineData("selora.logging.retained-files = 0", "selora.logging.retained-files")]
    [InlineData("selora.doctor.matmul-seconds = 0", "selora.doctor.matmul-seconds")]
    [InlineData("selora.doctor.matmul-size = 4", "selora.doctor.matmul-size")]
    public void Bad_values_name_the_setting(string overlay, string key)
    {
        Assert.Contains(key, Rejects(overlay).Message);
    }

    [Fact]
    public void Every_setting_the_code_reads_has_a_default_in_base_hocon()
    {
        var missing = SeloraSettings.Keys.All.Where(k => !Defaults.HasPath(k)).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_selora_string_literal_in_the_sources_is_a_known_setting()
    {
        // Leaf settings and the sections above them (such as "selora.train").
        var known = HoconLoader.LeafPaths(Defaults)
            .SelectMany(p => p.Split('.').Select((_, i) => string.Join('.', p.Split('.').Take(i + 1))))
            .ToHashSet();
        var literal = new System.Text.RegularExpressions.Regex("\"(selora\\.[a-z0-9.-]+)\"");
        var unknown = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => literal.Matches(File.ReadAllText(f)).Select(m => (File: f, Key: m.Groups[1].Value)))
            .Where(x => !known.Contains(x.Key))
            .Select(x => $"{Path.GetRelativePath(RepoPaths.Root, x.File)}: {x.Key}")
            .ToList();
        Assert.Empty(unknown);
    }

    [Fact]
    public void Every_setting_in_every_hocon_file_has_a_comment_above_it()
    {
        var uncommented = new List<string>();
        foreach (var file in Directory.EnumerateFiles(RepoPaths.Hocon, "*.hocon", SearchOption.AllDirectories))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                var isSetting = line.Length > 0 && !line.StartsWith('#') && (line.Contains(" = ") || line.Contains(" =\t"));
                if (!isSetting) continue;
                var previous = i == 0 ? "" : lines[i - 1].Trim();
                if (!previous.StartsWith('#')) uncommented.Add($"{Path.GetRelativePath(RepoPaths.Root, file)}:{i + 1}: {line}");
            }
        }
        Assert.Empty(uncommented);
    }

    [Fact]
    public void The_postgres_variable_overrides_the_file()
    {
        var before = Environment.GetEnvironmentVariable(SeloraSettings.PostgresVariable);
        try
        {
            Environment.SetEnvironmentVariable(SeloraSettings.PostgresVariable, "Host=example;Database=x");
            Assert.Equal("Host=example;Database=x", SeloraSettings.From(Defaults).Persistence.PostgresConnectionString);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SeloraSettings.PostgresVariable, before);
        }
    }
}
