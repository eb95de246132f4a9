using Akka.Configuration;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Persistence;
using SeLoRA.Cluster.Runs;
using SeLoRA.TestSupport;

namespace SeLoRA.Cluster.Tests.Persistence;

public class PersistenceHoconTests
{
    [Fact]
    public async Task Sqlite_points_both_plugins_at_the_file_under_the_data_directory_and_creates_its_folder()
    {
        await using var db = await TestDatabase.CreateAsync("sqlite");
        var file = Path.Combine(db.DataDirectory, "db", "selora.db");
        Assert.False(Directory.Exists(Path.GetDirectoryName(file)));

        var config = PersistenceHocon.For(db.Settings);

        Assert.True(Directory.Exists(Path.GetDirectoryName(file)));
        Assert.Equal(PersistenceHocon.JournalPluginId, config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal(PersistenceHocon.SnapshotPluginId, config.GetString("akka.persistence.snapshot-store.plugin"));
        foreach (var plugin in new[] { "akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql" })
        {
            Assert.Equal("SQLite.MS", config.GetString($"{plugin}.provider-name"));
            Assert.Equal($"Data Source={file}", config.GetString($"{plugin}.connection-string"));
            Assert.True(config.GetBoolean($"{plugin}.auto-initialize"));
            Assert.StartsWith("Akka.Persistence.Sql.", config.GetString($"{plugin}.class"));
        }
        Assert.Contains("RunMessageSerializer", config.GetString("akka.actor.serializers.selora-runs"));
    }

    [Fact]
    public void Postgres_passes_the_connection_string_through_quotes_and_all()
    {
        var settings = Settings("postgres", "Host=db;Username=selora;Password=a\"b\\c$d{e};Database=runs");
        var config = PersistenceHocon.For(settings);
        Assert.Equal("PostgreSQL.15", config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(settings.Persistence.PostgresConnectionString, config.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal(settings.Persistence.PostgresConnectionString, config.GetString("akka.persistence.snapshot-store.sql.connection-string"));
    }

    [Fact]
    public void Postgres_without_a_connection_string_names_the_setting_and_the_variable()
    {
        var error = Assert.Throws<ConfigurationException>(() => PersistenceHocon.For(Settings("postgres", "")));
        Assert.Contains(SeloraSettings.Keys.PostgresConnectionString, error.Message);
        Assert.Contains(SeloraSettings.PostgresVariable, error.Message);
    }

    [Fact]
    public void Base_hocon_defaults_give_a_snapshot_interval_and_an_auto_blob_store()
    {
        var defaults = HoconLoader.LoadDefaults(RepoPaths.Hocon);
        Assert.Equal(RunEntityOptions.DefaultSnapshotEvery, RunEntityOptions.FromConfig(defaults).SnapshotEvery);
        Assert.Equal("auto", defaults.GetString(CheckpointBlobStores.BackendKey));
        var bad = ConfigurationFactory.ParseString($"{RunEntityOptions.SnapshotEveryKey} = -1");
        Assert.Contains(RunEntityOptions.SnapshotEveryKey, Assert.Throws<ConfigurationException>(() => RunEntityOptions.FromConfig(bad)).Message);
    }

    static SeloraSettings Settings(string provider, string postgres) =>
        SeloraSettings.From(HoconLoader.LoadDefaults(RepoPaths.Hocon)) with
        {
            DataDirectory = Path.GetTempPath(),
            Persistence = new PersistenceSettings(provider, "selora.db", postgres),
        };
}
