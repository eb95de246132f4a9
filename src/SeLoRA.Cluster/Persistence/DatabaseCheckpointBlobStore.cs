using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace SeLoRA.Cluster.Persistence;

/// <summary>
/// Blobs in the journal's own database (SQLite file or PostgreSQL), so machines that share the database share the
/// checkpoints too. A blob is a header row (&lt;table&gt;) and its content in 1 MiB rows (&lt;table&gt;_chunk), all written in one
/// transaction: a failed or interrupted put rolls back and leaves the previous blob, or none. Tables are created on first use.
/// </summary>
public sealed class DatabaseCheckpointBlobStore : ICheckpointBlobStore
{
    public const string DefaultTable = "checkpoint_blob";
    public const int ChunkBytes = 1 << 20;

    /// <summary>Above this size a read is spooled to a temporary file instead of memory.</summary>
    const long InMemoryLimit = 64L << 20;

    readonly string _connectionString;
    readonly string _table;
    readonly string _chunks;
    readonly SemaphoreSlim _createLock = new(1, 1);
    volatile bool _created;

    public DatabaseCheckpointBlobStore(BlobDatabase database, string connectionString, string table = DefaultTable)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("the blob database's connection string is empty.", nameof(connectionString));
        if (string.IsNullOrEmpty(table) || !table.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_') || !char.IsAsciiLetterLower(table[0]))
            throw new ArgumentException($"blob table \"{table}\": expected lower-case letters, digits and '_', starting with a letter.", nameof(table));
        Database = database;
        _connectionString = connectionString;
        _table = table;
        _chunks = table + "_chunk";
    }

    public BlobDatabase Database { get; }

    public async Task PutAsync(string runName, long step, string name, Stream content, CancellationToken cancellationToken = default)
    {
        BlobKeys.Check(runName, step, name);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"DELETE FROM {_chunks} WHERE run_name = @run AND step = @step AND name = @name", runName, step, name, cancellationToken);
        await ExecuteAsync(connection, transaction, $"DELETE FROM {_table} WHERE run_name = @run AND step = @step AND name = @name", runName, step, name, cancellationToken);

        await using var insert = Command(connection, transaction,
            $"INSERT INTO {_chunks} (run_name, step, name, chunk, data) VALUES (@run, @step, @name, @chunk, @data)", runName, step, name);
        var chunkParameter = Add(insert, "@chunk", 0);
        var dataParameter = Add(insert, "@data", Array.Empty<byte>());
        var buffer = new byte[ChunkBytes];
        long length = 0;
        var chunk = 0;
        while (true)
        {
            var read = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            // An empty blob still gets one (empty) chunk, so a read always finds a row.
            if (read == 0 && chunk > 0) break;
            chunkParameter.Value = chunk++;
            dataParameter.Value = read == buffer.Length ? buffer : buffer.AsSpan(0, read).ToArray();
            await insert.ExecuteNonQueryAsync(cancellationToken);
            length += read;
            if (read < buffer.Length) break;
        }

        await using var header = Command(connection, transaction,
            $"INSERT INTO {_table} (run_name, step, name, length, chunks, stored_utc_ms) VALUES (@run, @step, @name, @length, @chunks, @stored)",
            runName, step, name);
        Add(header, "@length", length);
        Add(header, "@chunks", chunk);
        Add(header, "@stored", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await header.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<Stream> GetAsync(string runName, long step, string name, CancellationToken cancellationToken = default)
    {
        BlobKeys.Check(runName, step, name);
        await using var connection = await OpenAsync(cancellationToken);
        // One statement, so the header and the chunks come from the same committed put.
        await using var select = Command(connection, null,
            $"SELECT b.length, c.data FROM {_table} b JOIN {_chunks} c ON c.run_name = b.run_name AND c.step = b.step AND c.name = b.name " +
            "WHERE b.run_name = @run AND b.step = @step AND b.name = @name ORDER BY c.chunk", runName, step, name);
        await using var reader = await select.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        Stream? output = null;
        long expected = 0;
        try
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (output == null)
                {
                    expected = reader.GetInt64(0);
                    output = expected <= InMemoryLimit
                        ? new MemoryStream(checked((int)expected))
                        : new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
                }
                var data = reader.GetFieldValue<byte[]>(1);
                await output.WriteAsync(data, cancellationToken);
            }
            if (output == null) throw BlobKeys.NotFound($"{Database} table {_table}", runName, step, name);
            if (output.Length != expected)
                throw new InvalidDataException($"{Database} table {_table}: blob {runName}/{step}/{name} has {output.Length} bytes in its chunks, its header says {expected}.");
            output.Position = 0;
            return output;
        }
        catch
        {
            output?.Dispose();
            throw;
        }
    }

    public async Task<IReadOnlyList<BlobInfo>> ListAsync(string runName, CancellationToken cancellationToken = default)
    {
        BlobKeys.CheckRun(runName);
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT step, name, length, stored_utc_ms FROM {_table} WHERE run_name = @run ORDER BY step, name";
        Add(select, "@run", runName);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var blobs = new List<BlobInfo>();
        while (await reader.ReadAsync(cancellationToken))
            blobs.Add(new BlobInfo(runName, reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        // The database's collation may order names differently; the contract is ordinal.
        return blobs.OrderBy(b => b.Step).ThenBy(b => b.Name, StringComparer.Ordinal).ToList();
    }

    public async Task DeleteAsync(string runName, long step, string name, CancellationToken cancellationToken = default)
    {
        BlobKeys.Check(runName, step, name);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"DELETE FROM {_table} WHERE run_name = @run AND step = @step AND name = @name", runName, step, name, cancellationToken);
        await ExecuteAsync(connection, transaction, $"DELETE FROM {_chunks} WHERE run_name = @run AND step = @step AND name = @name", runName, step, name, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = Database == BlobDatabase.Sqlite ? new SqliteConnection(_connectionString) : new NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (!_created) await CreateTablesAsync(connection, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    async Task CreateTablesAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await _createLock.WaitAsync(cancellationToken);
        try
        {
            if (_created) return;
            var (text, bytes) = Database == BlobDatabase.Sqlite ? ("TEXT", "BLOB") : ("VARCHAR(255)", "BYTEA");
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var create = connection.CreateCommand();
            create.Transaction = transaction;
            // Two PostgreSQL sessions creating the same table at once can collide in the catalog; the lock orders them.
            create.CommandText = (Database == BlobDatabase.Postgres ? "SELECT pg_advisory_xact_lock(7301);" : "") + $"""
                CREATE TABLE IF NOT EXISTS {_table} (
                  run_name {text} NOT NULL, step BIGINT NOT NULL, name {text} NOT NULL,
                  length BIGINT NOT NULL, chunks INTEGER NOT NULL, stored_utc_ms BIGINT NOT NULL,
                  PRIMARY KEY (run_name, step, name));
                CREATE TABLE IF NOT EXISTS {_chunks} (
                  run_name {text} NOT NULL, step BIGINT NOT NULL, name {text} NOT NULL,
                  chunk INTEGER NOT NULL, data {bytes} NOT NULL,
                  PRIMARY KEY (run_name, step, name, chunk));
                """;
            await create.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _created = true;
        }
        finally
        {
            _createLock.Release();
        }
    }

    static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, string runName, long step, string name)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        Add(command, "@run", runName);
        Add(command, "@step", step);
        Add(command, "@name", name);
        return command;
    }

    static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, string runName, long step, string name,
        CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql, runName, step, name);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static DbParameter Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
