using Akka.Configuration;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Runs;

namespace SeLoRA.Cluster.Persistence;

/// <summary>
/// The Akka.Persistence configuration for the chosen store: the journal and snapshot store of Akka.Persistence.Sql (tables
/// created on first use) on the SQLite file or the PostgreSQL database, and the run serializer. Configured through HOCON:
/// Akka.Persistence.Sql.Hosting needs a linq2db this feed does not serve.
/// </summary>
public static class PersistenceHocon
{
    public const string JournalPluginId = "akka.persistence.journal.sql";
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";
    public const string SqliteProvider = "SQLite.MS";
    public const string PostgresProvider = "PostgreSQL.15";

    /// <summary>Persistence and run serialization for <paramref name="settings"/>; creates the SQLite file's folder.</summary>
    public static Config For(SeloraSettings settings)
    {
        var (provider, connectionString) = Target(settings);
        return For(provider, connectionString);
    }

    /// <summary>The linq2db provider name and connection string the settings choose; errors name the settings to fix.</summary>
    public static (string Provider, string ConnectionString) Target(SeloraSettings settings)
    {
        var persistence = settings.Persistence;
        switch (persistence.Provider)
        {
            case "sqlite":
                var path = persistence.SqlitePath(settings.DataDirectory);
                return (SqliteProvider, SqliteConnectionString(path));
            case "postgres":
                if (!persistence.PostgresConfigured)
                    throw new ConfigurationException(
                        $"setting {SeloraSettings.Keys.PersistenceProvider} = postgres, but no PostgreSQL is configured: set " +
                        $"{SeloraSettings.Keys.PostgresConnectionString} or the {SeloraSettings.PostgresVariable} environment variable " +
                        "to an Npgsql connection string, such as Host=db;Username=selora;Password=...;Database=selora.");
                return (PostgresProvider, persistence.PostgresConnectionString);
            default:
                throw new ConfigurationException($"setting {SeloraSettings.Keys.PersistenceProvider} = {persistence.Provider}: expected sqlite or postgres.");
        }
    }

    /// <summary>
    /// "Data Source=path" for a SQLite file, after creating its folder and switching the file to WAL, so the journal, the
    /// snapshot store and the blob store can read while one of them writes.
    /// </summary>
    public static string SqliteConnectionString(string path)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(
                $"setting {SeloraSettings.Keys.SqliteDatabase}: cannot create the folder {folder} for the database ({e.Message}); " +
                $"check {SeloraSettings.Keys.DataDir}.");
        }
        var connectionString = new SqliteConnectionStringBuilder { DataSource = full }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
        return connectionString;
    }

    /// <summary>
    /// The journal, snapshot store and query journal on <paramref name="connectionString"/>, plus the run serializer, over
    /// the plugin's own defaults (without Akka.Persistence.Sql.Hosting nothing else adds them).
    /// </summary>
    public static Config For(string provider, string connectionString)
    {
        var cs = Quote(connectionString);
        var p = Quote(provider);
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  connection-string = {{cs}}
                  provider-name = {{p}}
                  auto-initialize = on
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                sql {
                  connection-string = {{cs}}
                  provider-name = {{p}}
                  auto-initialize = on
                }
              }
              query.journal.sql {
                connection-string = {{cs}}
                provider-name = {{p}}
                write-plugin = "{{JournalPluginId}}"
              }
            }
            """).WithFallback(RunMessageSerializer.Hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>A HOCON quoted string (paths and passwords may hold quotes, backslashes or '$').</summary>
    static string Quote(string value)
    {
        if (value.Any(char.IsControl)) throw new ConfigurationException("a persistence connection string holds a control character.");
        return "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }
}
