using Microsoft.Data.Sqlite;
using Npgsql;
using SeLoRA.Cluster.Hosting;
using SeLoRA.TestSupport;
using Serilog.Events;

namespace SeLoRA.Cluster.Tests.Persistence;

/// <summary>
/// A fresh database for one test: a SQLite file in a temporary data directory, or a schema of its own in the PostgreSQL
/// that SELORA_TEST_POSTGRES names (skipped without it, failing under CI=true), dropped afterwards.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    /// <summary>Set by .ci/run to a PostgreSQL it started.</summary>
    public const string TestPostgresVariable = "SELORA_TEST_POSTGRES";

    readonly string? _schema;
    readonly string? _adminConnection;

    TestDatabase(string kind, string dataDirectory, string? postgresConnection, string? schema, string? adminConnection)
    {
        Kind = kind;
        DataDirectory = dataDirectory;
        _schema = schema;
        _adminConnection = adminConnection;
        Settings = new SeloraSettings("test", ["coordinator"], dataDirectory, new LoggingSettings(LogEventLevel.Warning, false, 1),
            new TorchSettings("cpu", 0),
            new PersistenceSettings(kind == "postgres" ? "postgres" : "sqlite", "db/selora.db", postgresConnection ?? ""),
            new DoctorSettings(TimeSpan.FromSeconds(1), 64));
    }

    /// <summary>"sqlite" or "postgres".</summary>
    public string Kind { get; }

    public string DataDirectory { get; }

    public SeloraSettings Settings { get; }

    public static async Task<TestDatabase> CreateAsync(string kind)
    {
        var dir = Directory.CreateTempSubdirectory("selora-runs-").FullName;
        if (kind == "sqlite") return new TestDatabase(kind, dir, null, null, null);

        var connection = Environment.GetEnvironmentVariable(TestPostgresVariable);
        Requirements.Require(!string.IsNullOrEmpty(connection),
            $"a PostgreSQL server: set {TestPostgresVariable} to its connection string (.ci/run starts one)");
        var schema = "selora_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(connection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", admin);
            await create.ExecuteNonQueryAsync();
        }
        var scoped = new NpgsqlConnectionStringBuilder(connection) { SearchPath = schema }.ConnectionString;
        return new TestDatabase(kind, dir, scoped, schema, connection);
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_schema != null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(_adminConnection);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", admin);
            await drop.ExecuteNonQueryAsync();
        }
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
