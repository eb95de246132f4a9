using System.Security.Cryptography;
using SeLoRA.Cluster.Persistence;

namespace SeLoRA.Cluster.Tests.Persistence;

/// <summary>Both back-ends against real storage: the file system, a SQLite file, and PostgreSQL when SELORA_TEST_POSTGRES is set.</summary>
public class CheckpointBlobStoreTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static ICheckpointBlobStore Store(TestDatabase db, string backend) => CheckpointBlobStores.Create(db.Settings, backend);

    static async Task<TestDatabase> Database(string backend) => await TestDatabase.CreateAsync(backend == "postgres" ? "postgres" : "sqlite");

    static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static async Task<byte[]> Read(ICheckpointBlobStore store, string run, long step, string name)
    {
        await using var stream = await store.GetAsync(run, step, name, Ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    /// <summary>Yields its bytes, then fails part-way, as a crashed copy or a broken network stream would.</summary>
    sealed class FailingStream(byte[] data, int failAfter) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => Fail() ? throw new IOException("source lost") : base.Read(buffer, offset, Math.Min(count, 64 << 10));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Fail() ? throw new IOException("source lost") : base.ReadAsync(buffer[..Math.Min(buffer.Length, 64 << 10)], cancellationToken);

        bool Fail() => Position >= failAfter;
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Blobs_of_several_megabytes_round_trip_bit_exactly(string backend)
    {
        await using var db = await Database(backend);
        var store = Store(db, backend == "filesystem" ? "filesystem" : "database");
        var big = Bytes(5 * 1024 * 1024 + 12345, 1);
        var small = Bytes(1000, 2);
        var run = "run-a";

        await store.PutAsync(run, 40, "adapters.safetensors", new MemoryStream(big), Ct);
        await store.PutAsync(run, 40, "state.json", new MemoryStream(small), Ct);
        await store.PutAsync(run, 8, "state.json", new MemoryStream([]), Ct);
        await store.PutAsync("run-b", 40, "state.json", new MemoryStream(small), Ct);

        Assert.Equal(SHA256.HashData(big), SHA256.HashData(await Read(store, run, 40, "adapters.safetensors")));
        Assert.Equal(small, await Read(store, run, 40, "state.json"));
        Assert.Empty(await Read(store, run, 8, "state.json"));

        var listed = await store.ListAsync(run, Ct);
        Assert.Equal([(8L, "state.json", 0L), (40L, "adapters.safetensors", big.Length), (40L, "state.json", small.Length)],
            listed.Select(b => (b.Step, b.Name, b.Length)));
        Assert.All(listed, b => Assert.True(Math.Abs((DateTimeOffset.UtcNow - b.StoredUtc).TotalMinutes) < 5, $"{b.StoredUtc}"));

        // A put replaces; a delete removes one blob and leaves the others; a missing blob names its key.
        var replacement = Bytes(2 * 1024 * 1024, 3);
        await store.PutAsync(run, 40, "adapters.safetensors", new MemoryStream(replacement), Ct);
        Assert.Equal(replacement, await Read(store, run, 40, "adapters.safetensors"));
        await store.DeleteAsync(run, 40, "adapters.safetensors", Ct);
        await store.DeleteAsync(run, 40, "adapters.safetensors", Ct);
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => store.GetAsync(run, 40, "adapters.safetensors", Ct));
        Assert.Contains("run-a/40/adapters.safetensors", missing.Message);
        Assert.Equal(["state.json", "state.json"], (await store.ListAsync(run, Ct)).Select(b => b.Name));
        Assert.Single(await store.ListAsync("run-b", Ct));
        Assert.Empty(await store.ListAsync("run-c", Ct));
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_failed_put_leaves_no_partial_blob_and_keeps_the_previous_one(string backend)
    {
        await using var db = await Database(backend);
        var store = Store(db, backend == "filesystem" ? "filesystem" : "database");
        var previous = Bytes(300_000, 4);
        await store.PutAsync("run-a", 10, "adapters.safetensors", new MemoryStream(previous), Ct);

        var data = Bytes(4 * 1024 * 1024, 5);
        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("run-a", 10, "adapters.safetensors", new FailingStream(data, 2_500_000), Ct));
        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("run-a", 20, "adapters.safetensors", new FailingStream(data, 2_500_000), Ct));

        Assert.Equal(previous, await Read(store, "run-a", 10, "adapters.safetensors"));
        await Assert.ThrowsAsync<FileNotFoundException>(() => store.GetAsync("run-a", 20, "adapters.safetensors", Ct));
        Assert.Equal([10L], (await store.ListAsync("run-a", Ct)).Select(b => b.Step));
        if (backend == "filesystem")
            Assert.Equal(["adapters.safetensors"], Directory.EnumerateFiles(Path.Combine(db.DataDirectory, CheckpointBlobStores.FolderName), "*",
                SearchOption.AllDirectories).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("")]
    public async Task Names_that_could_leave_the_store_are_refused(string name)
    {
        await using var db = await Database("sqlite");
        foreach (var backend in new[] { "filesystem", "database" })
        {
            var store = Store(db, backend);
            await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("run-a", 1, name, new MemoryStream([1]), Ct));
            await Assert.ThrowsAsync<ArgumentException>(() => store.ListAsync(name, Ct));
        }
    }

    [Fact]
    public async Task Auto_picks_the_file_system_with_sqlite_and_the_database_with_postgres()
    {
        await using var db = await Database("sqlite");
        Assert.IsType<FileSystemCheckpointBlobStore>(Store(db, "auto"));
        var postgres = db.Settings with { Persistence = db.Settings.Persistence with { Provider = "postgres", PostgresConnectionString = "Host=nowhere" } };
        Assert.Equal(BlobDatabase.Postgres, Assert.IsType<DatabaseCheckpointBlobStore>(CheckpointBlobStores.Create(postgres, "auto")).Database);
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() => Store(db, "s3"));
        Assert.Contains(CheckpointBlobStores.BackendKey, error.Message);
    }

    [Fact]
    public async Task The_database_store_shares_the_journal_file_with_sqlite()
    {
        await using var db = await Database("sqlite");
        var store = Store(db, "database");
        await store.PutAsync("run-a", 1, "x.bin", new MemoryStream([1, 2, 3]), Ct);
        Assert.True(File.Exists(db.Settings.Persistence.SqlitePath(db.DataDirectory)));
        Assert.False(Directory.Exists(Path.Combine(db.DataDirectory, CheckpointBlobStores.FolderName)));
    }
}
